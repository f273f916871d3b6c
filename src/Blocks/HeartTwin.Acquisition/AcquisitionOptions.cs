using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Acquisition;

/// <summary>The "Acquisition" configuration section.</summary>
public sealed class AcquisitionOptions
{
    /// <summary>The configuration section's name.</summary>
    public const string SectionName = "Acquisition";

    /// <summary>
    /// Length of a <c>WindowAcquired</c> window in seconds (default 10). Windows lie on a UTC grid of this length
    /// counted from the Unix epoch, so a window's index is the same whoever computes it, before or after a restart.
    /// </summary>
    [Range(1, 300)]
    public int WindowSeconds { get; set; } = 10;

    /// <summary>A stream that received no batch for this many minutes is forgotten (default 10).</summary>
    [Range(1, 24 * 60)]
    public int IdleStreamMinutes { get; set; } = 10;

    /// <summary>
    /// Messages kept per stream while the bus refuses them (Storage down), retried with the next batch; beyond this
    /// the oldest are dropped with a warning (default 1000, about 8 minutes of beats and windows at 1-s batches).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxUnpublishedMessages { get; set; } = 1000;

    /// <summary>
    /// The beat window spec version the block cuts beat features with (docs/beat-model-contract.md): it must be the one
    /// of the beat model that Inference serves, which refuses other windows by name (<c>beat-window-v1</c>, <c>-v2</c>, <c>-v3</c>).
    /// Default 3, the spec of the shipped models/beat-cnn (3.4.0 and later; 2.x models read version 2): each stream turned
    /// so that its dominant QRS points up, so a lead recorded the other way round is classified as it would be upright.
    /// </summary>
    [Range(1, 3)]
    public int BeatSpecVersion { get; set; } = 3;
}
