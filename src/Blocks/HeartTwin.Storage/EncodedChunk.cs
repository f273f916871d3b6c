using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Storage.Compression;

namespace HeartTwin.Storage;

/// <summary>
/// A sample batch checked and compressed into the row both providers store (the write side of <see cref="SampleChunkReader"/>).
/// Built on the caller's thread, so that the single database writer only inserts.
/// </summary>
/// <param name="Blob">The HTC1 chunk.</param>
/// <param name="SamplesPerLead">Samples per lead.</param>
/// <param name="EndTicks">UTC ticks just after the last sample.</param>
/// <param name="LeadsJson">The leads, as JSON (the lead set).</param>
internal readonly record struct EncodedChunk(byte[] Blob, int SamplesPerLead, long EndTicks, string LeadsJson)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <exception cref="ArgumentException">The rate is not positive and finite, or leads and sample arrays disagree.</exception>
    public static EncodedChunk From(SamplesReceived m, int codecBlockSize)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (!(m.SampleRateHz > 0) || double.IsInfinity(m.SampleRateHz))
        {
            throw new ArgumentException($"Batch {m.MessageKey} has an invalid sample rate {m.SampleRateHz}.", nameof(m));
        }

        if (m.Leads.Count != m.Samples.Length)
        {
            throw new ArgumentException($"Batch {m.MessageKey} has {m.Leads.Count} leads but {m.Samples.Length} sample arrays.", nameof(m));
        }

        int perLead = m.SamplesPerLead;
        long endTicks = m.StartTime.UtcTicks + (long)Math.Round(perLead * (double)TimeSpan.TicksPerSecond / m.SampleRateHz);
        return new EncodedChunk(SampleCodec.Encode(m.Samples, codecBlockSize), perLead, endTicks, JsonSerializer.Serialize(m.Leads, Json));
    }
}
