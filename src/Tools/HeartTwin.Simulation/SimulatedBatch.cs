using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Simulation;

/// <summary>One batch a simulated device sends: a slice of the record, all leads.</summary>
/// <param name="Sequence">The device's batch sequence number.</param>
/// <param name="StartTime">UTC time of the first sample.</param>
/// <param name="SampleRateHz">Samples per second per lead.</param>
/// <param name="Leads">The leads.</param>
/// <param name="Samples">One array per lead.</param>
internal sealed record SimulatedBatch(long Sequence, DateTimeOffset StartTime, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][] Samples)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Samples per lead.</summary>
    public int SamplesPerLead => Samples.Length == 0 ? 0 : Samples[0].Length;

    /// <summary>Samples over all leads.</summary>
    public long TotalSamples => (long)SamplesPerLead * Samples.Length;

    /// <summary>Signal time the batch covers.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds(SamplesPerLead / SampleRateHz);

    /// <summary>The JSON wire form (<see cref="SampleBatchDto"/>).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(
        new SampleBatchDto
        {
            Sequence = Sequence,
            StartTime = StartTime,
            SampleRateHz = SampleRateHz,
            Leads = Leads.Select(l => new LeadDto { Name = l.Name, Gain = l.Gain, Baseline = l.Baseline, Units = l.Units }).ToList(),
            Samples = Samples.Select(s => s.ToList()).ToList(),
        },
        Json);

    /// <summary>The compact binary wire form (<see cref="BinarySampleBatch"/>).</summary>
    public byte[] ToBinary() => BinarySampleBatch.Encode(Sequence, StartTime, SampleRateHz, Leads, Samples);
}

/// <summary>
/// Cuts a record into consecutive batches of a fixed number of samples per lead. With <c>loop</c> the record repeats
/// forever (a batch may straddle the end and the start); without it the last batch is shorter and then there are none.
/// </summary>
internal sealed class RecordBatcher
{
    private readonly SimulatedRecord _record;
    private readonly bool _loop;
    private long _position;
    private bool _ended;

    /// <param name="record">The record.</param>
    /// <param name="samplesPerBatch">Samples per lead in each batch (at least 1).</param>
    /// <param name="loop">Replay forever.</param>
    /// <param name="startOffset">Sample index in the record where the first batch begins (load tests start devices at different offsets).</param>
    public RecordBatcher(SimulatedRecord record, int samplesPerBatch, bool loop, long startOffset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samplesPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(startOffset);
        _record = record;
        _loop = loop;
        SamplesPerBatch = samplesPerBatch;
        _position = record.Length == 0 ? 0 : startOffset % record.Length;
        StartOffset = _position;
    }

    public int SamplesPerBatch { get; }

    /// <summary>Where the first batch begins.</summary>
    public long StartOffset { get; }

    /// <summary>Samples per lead handed out so far.</summary>
    public long SamplesTaken { get; private set; }

    /// <summary>The next slice (one array per lead), or null when the record has ended (never with loop).</summary>
    /// <param name="limit">At most this many samples per lead (to end a stream at an exact duration).</param>
    public int[][]? Next(long limit = long.MaxValue)
    {
        int length = _record.Length;
        long left = Math.Min(limit, _loop ? long.MaxValue : length - _position);
        if (length == 0 || left <= 0 || (!_loop && _ended))
        {
            return null;
        }

        int count = (int)Math.Min(SamplesPerBatch, left);
        var slice = new int[_record.Samples.Length][];
        for (int lead = 0; lead < slice.Length; lead++)
        {
            var source = _record.Samples[lead];
            var target = new int[count];
            int done = 0;
            long at = _position;
            while (done < count)
            {
                int from = (int)(at % length);
                int run = Math.Min(count - done, length - from);
                Array.Copy(source, from, target, done, run);
                done += run;
                at += run;
            }

            slice[lead] = target;
        }

        _position += count;
        if (_position >= length)
        {
            _ended = true;
            _position %= length;
        }

        SamplesTaken += count;
        return slice;
    }
}
