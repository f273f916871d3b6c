using System.Buffers.Binary;
using System.Text;

namespace HeartTwin.Contracts.Wire;

/// <summary>
/// The compact binary form of a sample batch, for constrained devices (HTTP Content-Type
/// <see cref="ContentType"/>; on MQTT, any payload that starts with the magic). Little-endian throughout:
/// <code>
/// magic      4 bytes  "HTB1"
/// sequence   int64
/// startTime  int64    Unix time of the first sample in microseconds (UTC)
/// rateHz     float64  samples per second per lead
/// leadCount  uint8    1–16
/// perLead    uint16   samples per lead
/// leadCount × { gain float32 (ADC units per mV), baseline int16, nameLength uint8, name UTF-8 }
/// leadCount × perLead × int16   samples, lead after lead
/// </code>
/// This type is the format's definition in code, shared by the Connector (decoder) and the simulator (encoder).
/// </summary>
public static class BinarySampleBatch
{
    /// <summary>HTTP content type of the binary form.</summary>
    public const string ContentType = "application/vnd.hearttwin.samples.v1";

    /// <summary>The first four bytes of every binary batch.</summary>
    public static ReadOnlySpan<byte> Magic => "HTB1"u8;

    private const int FixedHeaderBytes = 4 + 8 + 8 + 8 + 1 + 2;

    /// <summary>A decoded batch.</summary>
    /// <param name="Sequence">Sequence number.</param>
    /// <param name="StartTime">UTC time of the first sample.</param>
    /// <param name="SampleRateHz">Rate per lead.</param>
    /// <param name="Leads">Leads (units mV).</param>
    /// <param name="Samples">Samples per lead.</param>
    public sealed record Batch(long Sequence, DateTimeOffset StartTime, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][] Samples);

    /// <summary>Whether a payload starts with the binary magic.</summary>
    public static bool IsBinary(ReadOnlySpan<byte> payload) => payload.StartsWith(Magic);

    /// <summary>Encodes a batch. Samples must fit int16 and all leads must have the same length.</summary>
    /// <exception cref="ArgumentException">A sample outside int16, ragged leads, or more than 16 leads / 65,535 samples.</exception>
    public static byte[] Encode(long sequence, DateTimeOffset startTime, double sampleRateHz, IReadOnlyList<LeadInfo> leads, IReadOnlyList<int[]> samples)
    {
        ArgumentNullException.ThrowIfNull(leads);
        ArgumentNullException.ThrowIfNull(samples);
        if (leads.Count is 0 or > 16 || samples.Count != leads.Count)
        {
            throw new ArgumentException("A binary batch has 1–16 leads, one sample array per lead.", nameof(samples));
        }

        int perLead = samples[0].Length;
        if (perLead > ushort.MaxValue)
        {
            throw new ArgumentException("A binary batch holds at most 65,535 samples per lead.", nameof(samples));
        }

        int size = FixedHeaderBytes;
        var names = new byte[leads.Count][];
        for (int i = 0; i < leads.Count; i++)
        {
            names[i] = Encoding.UTF8.GetBytes(leads[i].Name);
            if (names[i].Length > byte.MaxValue)
            {
                throw new ArgumentException("Lead names are at most 255 UTF-8 bytes.", nameof(leads));
            }

            size += 4 + 2 + 1 + names[i].Length;
        }

        size += leads.Count * perLead * 2;
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        Magic.CopyTo(span);
        int at = 4;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], sequence); at += 8;
        long micros = (startTime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], micros); at += 8;
        BinaryPrimitives.WriteDoubleLittleEndian(span[at..], sampleRateHz); at += 8;
        span[at++] = (byte)leads.Count;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)perLead); at += 2;
        for (int i = 0; i < leads.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[at..], (float)leads[i].Gain); at += 4;
            BinaryPrimitives.WriteInt16LittleEndian(span[at..], checked((short)leads[i].Baseline)); at += 2;
            span[at++] = (byte)names[i].Length;
            names[i].CopyTo(span[at..]); at += names[i].Length;
        }

        for (int lead = 0; lead < samples.Count; lead++)
        {
            var values = samples[lead];
            if (values.Length != perLead)
            {
                throw new ArgumentException("Every lead must have the same number of samples.", nameof(samples));
            }

            foreach (int v in values)
            {
                if (v is < short.MinValue or > short.MaxValue)
                {
                    throw new ArgumentException($"Sample {v} does not fit the binary form's int16.", nameof(samples));
                }

                BinaryPrimitives.WriteInt16LittleEndian(span[at..], (short)v);
                at += 2;
            }
        }

        return buffer;
    }

    /// <summary>Decodes a batch; on failure returns false with a one-line reason (never throws on bad input).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out Batch? batch, out string error)
    {
        batch = null;
        if (!IsBinary(payload))
        {
            error = "The payload does not start with the binary magic 'HTB1'.";
            return false;
        }

        if (payload.Length < FixedHeaderBytes)
        {
            error = "The binary header is truncated.";
            return false;
        }

        int at = 4;
        long sequence = BinaryPrimitives.ReadInt64LittleEndian(payload[at..]); at += 8;
        long micros = BinaryPrimitives.ReadInt64LittleEndian(payload[at..]); at += 8;
        double rate = BinaryPrimitives.ReadDoubleLittleEndian(payload[at..]); at += 8;
        int leadCount = payload[at++];
        int perLead = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]); at += 2;
        if (leadCount == 0)
        {
            error = "The binary batch declares no leads.";
            return false;
        }

        // Unix microseconds of years 1970–9999 only; anything else is corrupt.
        if (micros < 0 || micros > 253_402_300_799_000_000L)
        {
            error = "The binary start time is out of range.";
            return false;
        }

        var leads = new LeadInfo[leadCount];
        for (int i = 0; i < leadCount; i++)
        {
            if (payload.Length < at + 7)
            {
                error = "The binary lead table is truncated.";
                return false;
            }

            float gain = BinaryPrimitives.ReadSingleLittleEndian(payload[at..]); at += 4;
            short baseline = BinaryPrimitives.ReadInt16LittleEndian(payload[at..]); at += 2;
            int nameLength = payload[at++];
            if (payload.Length < at + nameLength)
            {
                error = "The binary lead table is truncated.";
                return false;
            }

            string name;
            try
            {
                name = new UTF8Encoding(false, true).GetString(payload.Slice(at, nameLength));
            }
            catch (DecoderFallbackException)
            {
                error = "A lead name is not valid UTF-8.";
                return false;
            }

            at += nameLength;
            leads[i] = new LeadInfo(name, gain, baseline);
        }

        long expected = (long)leadCount * perLead * 2;
        if (payload.Length - at != expected)
        {
            error = $"The binary batch should carry {expected} bytes of samples but carries {payload.Length - at}.";
            return false;
        }

        var samples = new int[leadCount][];
        for (int lead = 0; lead < leadCount; lead++)
        {
            var values = new int[perLead];
            for (int i = 0; i < perLead; i++)
            {
                values[i] = BinaryPrimitives.ReadInt16LittleEndian(payload[at..]);
                at += 2;
            }

            samples[lead] = values;
        }

        batch = new Batch(sequence, DateTimeOffset.UnixEpoch.AddTicks(micros * 10), rate, leads, samples);
        error = string.Empty;
        return true;
    }
}
