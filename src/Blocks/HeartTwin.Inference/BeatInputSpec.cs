using HeartTwin.Signals.Beats;

namespace HeartTwin.Inference;

/// <summary>
/// The beat input that a caller produces, to check against a model's card before classifying
/// (see <see cref="BeatClassifier.EnsureCompatible(BeatInputSpec)"/>).
/// </summary>
/// <param name="SpecVersion">The beat window specification's version.</param>
/// <param name="SampleRateHz">The windows' sample rate, in Hz.</param>
/// <param name="WindowSamples">The window length, in samples.</param>
/// <param name="WindowOffsetSamples">The window's first sample relative to the fiducial, in samples.</param>
/// <param name="Channels">The channels per window.</param>
public sealed record BeatInputSpec(int SpecVersion, double SampleRateHz, int WindowSamples, int WindowOffsetSamples, int Channels)
{
    /// <summary>The contract's spec version 1: 180 Hz, 128 samples from 54 before the fiducial, 2 channels, 6 RR features.</summary>
    public static BeatInputSpec Version1 { get; } = From(BeatWindowSpec.Version1);

    /// <summary>The contract's spec version 2: as version 1 with 4 channels (previous beat, long template) and 9 RR features.</summary>
    public static BeatInputSpec Version2 { get; } = From(BeatWindowSpec.Version2);

    /// <summary>The contract's spec version 3: as version 2, each stream turned so that its dominant QRS points up.</summary>
    public static BeatInputSpec Version3 { get; } = From(BeatWindowSpec.Version3);

    /// <summary>The input that the beat extractor produces under <paramref name="spec"/>.</summary>
    public static BeatInputSpec From(BeatWindowSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new(spec.Version, spec.SampleRateHz, spec.WindowSamples, -spec.SamplesBeforeFiducial, spec.Channels)
        {
            RrFeatures = spec.RrFeatureNames,
        };
    }

    /// <summary>The RR features' names in order, or null to leave them unchecked.</summary>
    public IReadOnlyList<string>? RrFeatures { get; init; }
}

/// <summary>A caller's beat input differs from what a model's card declares.</summary>
public sealed class ModelSpecMismatchException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ModelSpecMismatchException() : base("The input does not match the model's card.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ModelSpecMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ModelSpecMismatchException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a model and the differences found.</summary>
    /// <param name="modelId">The model's <c>name@version</c>.</param>
    /// <param name="differences">One sentence per difference.</param>
    public ModelSpecMismatchException(string modelId, IReadOnlyList<string> differences)
        : base($"The input does not match model {modelId}: {string.Join(" ", differences)}")
    {
        ModelId = modelId;
        Differences = differences;
    }

    /// <summary>The model's <c>name@version</c>.</summary>
    public string ModelId { get; } = "";

    /// <summary>One sentence per difference.</summary>
    public IReadOnlyList<string> Differences { get; } = [];
}
