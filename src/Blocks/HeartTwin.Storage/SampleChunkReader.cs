using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Storage.Compression;

namespace HeartTwin.Storage;

/// <summary>
/// Turns stored chunk rows into the segments of a <see cref="SamplesQuery"/>: the asked lead only, trimmed to [From, To), decoded
/// and checked. Both providers read their rows through one instance, so they answer a query identically.
/// </summary>
internal sealed class SampleChunkReader(SamplesQuery query)
{
    /// <summary>Codec name stored with each chunk, so that a later codec can sit beside this one.</summary>
    public const string CodecName = "HTC1";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private long total;

    public List<SampleSegment> Segments { get; } = [];

    /// <summary>Adds one chunk row (rows come ordered by start, device, sequence).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range now holds more than MaxSamplesPerLead.</exception>
    /// <exception cref="SampleCodecException">The chunk is of an unknown codec, corrupt, or disagrees with its row.</exception>
    public void Add(string device, long sequence, long start, double rate, int perLead, string leadsJson, string codec, Func<byte[]> data)
    {
        var q = query;
        var leads = JsonSerializer.Deserialize<LeadInfo[]>(leadsJson, Json) ?? [];
        int leadIndex = -1;
        if (q.Lead is not null)
        {
            leadIndex = Array.FindIndex(leads, l => string.Equals(l.Name, q.Lead, StringComparison.OrdinalIgnoreCase));
            if (leadIndex < 0)
            {
                return;
            }
        }

        // Sample i lies at start + i / rate; keep From <= t < To (a micro-tick of slack absorbs rounding of the caller's bounds).
        double ticksPerSample = TimeSpan.TicksPerSecond / rate;
        int first = (int)Math.Clamp(Math.Ceiling(((q.From.UtcTicks - start) / ticksPerSample) - 1e-6), 0, perLead);
        int end = (int)Math.Clamp(Math.Ceiling(((q.To.UtcTicks - start) / ticksPerSample) - 1e-6), 0, perLead);
        if (end <= first)
        {
            return;
        }

        total += end - first;
        if (total > q.MaxSamplesPerLead)
        {
            throw new ArgumentOutOfRangeException(paramName: null,
                $"The range holds more than {q.MaxSamplesPerLead.ToString(CultureInfo.InvariantCulture)} samples per lead; ask for a shorter range.");
        }

        if (codec != CodecName)
        {
            throw new SampleCodecException($"Chunk {device}:{sequence.ToString(CultureInfo.InvariantCulture)} uses codec '{codec}', which this build cannot read.");
        }

        var decoded = SampleCodec.Decode(data());
        if (decoded.Length != leads.Length)
        {
            throw new SampleCodecException($"Chunk {device}:{sequence.ToString(CultureInfo.InvariantCulture)} holds {decoded.Length} leads but its row names {leads.Length}.");
        }

        int[][] samples = leadIndex >= 0 ? [decoded[leadIndex]] : decoded;
        if (first > 0 || end < perLead)
        {
            samples = [.. samples.Select(s => s[first..end])];
        }

        Segments.Add(new SampleSegment(device, sequence, new DateTimeOffset(start + (long)Math.Round(first * ticksPerSample), TimeSpan.Zero), rate,
            leadIndex >= 0 ? [leads[leadIndex]] : leads, samples));
    }
}
