using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Acquisition;

/// <summary>What one batch produced: the beats it completed (with their model inputs) and the windows it closed.</summary>
internal sealed class PipelineOutput
{
    /// <summary>Completed beats, in time order.</summary>
    public List<AcquiredBeat> Beats { get; } = [];

    /// <summary>The model inputs of <see cref="Beats"/>, one per beat.</summary>
    public List<BeatFeatures> Features { get; } = [];

    /// <summary>Windows closed by the batch, in time order.</summary>
    public List<WindowAcquired> Windows { get; } = [];

    /// <summary>Forgets the previous batch's results.</summary>
    public void Clear()
    {
        Beats.Clear();
        Features.Clear();
        Windows.Clear();
    }
}

/// <summary>
/// The signal pipeline of one continuous segment of a device stream (one rate, one set of leads, no time gap):
/// ADC → mV, the multi-lead <see cref="QrsDetector"/> at the device rate, the <see cref="BeatFeatureExtractor"/> on the
/// rhythm lead (filter, resample to the model's 180 Hz, cut windows as in training), and windows on the UTC grid with
/// their signal quality and heart rate.
/// </summary>
/// <remarks>
/// Samples go through in chunks of at most <see cref="Chunk"/> frames into buffers allocated once, so the per-sample
/// path allocates nothing; each completed beat allocates its feature arrays, each window its message.
/// Not thread-safe: one batch at a time per stream.
/// </remarks>
internal sealed class StreamPipeline
{
    /// <summary>Frames converted and processed at a time.</summary>
    internal const int Chunk = 512;

    private readonly QrsDetector _detector;
    private readonly BeatFeatureExtractor _extractor;
    private readonly int _ecgLeads;
    private readonly float[] _frames;
    private readonly float[] _rhythm;
    private readonly float[] _ring; // per ECG lead, the recent samples in mV, for the window's quality
    private readonly int _ringLength;
    private readonly int _ringMask;
    private readonly float[] _windowScratch;
    private readonly int[] _beatScratch;
    private readonly List<long> _detections = new(8);
    private readonly List<BeatFeatures> _completed = new(8);
    private readonly Queue<long> _windowBeats = new(32);
    private readonly List<double> _windowRr = new(32);
    private readonly long _windowTicks;
    private readonly int _decisionDelay;
    private readonly double _fullWindowSamples;

    private long _processed;
    private long _previousBeat = -1; // last completed beat, for AcquiredBeat.RrMs
    private long _previousWindowBeat = -1; // last beat counted into a window, for the window's RR list
    private long _windowIndex;
    private long _windowStart;
    private long _windowEnd;

    /// <summary>Creates the pipeline of a segment that starts at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentException">The rate is not usable by the detector or the resampler.</exception>
    public StreamPipeline(LeadLayout layout, double sampleRateHz, DateTimeOffset start, TimeSpan window, BeatWindowSpec spec)
    {
        Layout = layout;
        SampleRateHz = sampleRateHz;
        Start = start;
        _ecgLeads = layout.EcgIndices.Length;
        _detector = new QrsDetector(_ecgLeads, sampleRateHz);
        _extractor = new BeatFeatureExtractor(spec, sampleRateHz);
        _frames = new float[Chunk * _ecgLeads];
        _rhythm = new float[Chunk];
        _windowTicks = window.Ticks;
        _decisionDelay = _detector.MaxDecisionDelaySamples;
        _fullWindowSamples = window.TotalSeconds * sampleRateHz;

        // A window is assessed once the detector has decided on its last beats, at most one chunk later.
        var windowSamples = (int)Math.Ceiling(_fullWindowSamples) + 1;
        _ringLength = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(windowSamples + _decisionDelay + Chunk + 1));
        _ringMask = _ringLength - 1;
        _ring = new float[_ringLength * _ecgLeads];
        _windowScratch = new float[windowSamples];
        _beatScratch = new int[Math.Max(16, (int)Math.Ceiling(window.TotalSeconds * 5))];
        OpenWindow(WindowIndexAt(start));
    }

    /// <summary>The segment's leads.</summary>
    public LeadLayout Layout { get; }

    /// <summary>The device's rate in Hz.</summary>
    public double SampleRateHz { get; }

    /// <summary>UTC time of the segment's first sample.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>Frames processed since the segment began.</summary>
    public long SamplesProcessed => _processed;

    /// <summary>UTC time the next batch should start at, for a continuous stream.</summary>
    public DateTimeOffset ExpectedNextStart => TimeOf(_processed);

    /// <summary>UTC time of a sample of this segment.</summary>
    public DateTimeOffset TimeOf(long sample) => Start + TimeSpan.FromTicks((long)Math.Round(sample * (TimeSpan.TicksPerSecond / SampleRateHz)));

    /// <summary>Feeds a batch that continues the segment; completed beats and closed windows go to <paramref name="output"/>.</summary>
    public void Process(SamplesReceived batch, PipelineOutput output)
    {
        var samples = batch.Samples;
        var length = batch.SamplesPerLead;
        var ecg = Layout.EcgIndices;
        for (var offset = 0; offset < length; offset += Chunk)
        {
            var n = Math.Min(Chunk, length - offset);
            for (var k = 0; k < _ecgLeads; k++)
            {
                Convert(samples[ecg[k]].AsSpan(offset, n), k, n);
            }

            _detections.Clear();
            _detector.Process(_frames.AsSpan(0, n * _ecgLeads), _detections);
            _extractor.Process(_rhythm.AsSpan(0, n), _completed);
            foreach (var beat in _detections)
            {
                _extractor.AddBeat(beat, _completed);
                _windowBeats.Enqueue(beat);
            }

            _processed += n;
            DrainBeats(output);
            while (_processed >= _windowEnd + _decisionDelay)
            {
                CloseWindow(batch, output, _windowEnd);
            }
        }
    }

    /// <summary>
    /// Ends the segment (a discontinuity): the detector's and extractor's pending beats complete, and the open window is
    /// emitted up to the last sample if it covers more than half a window (so that it and the next segment's part of
    /// the same grid window cannot both be emitted under one index).
    /// </summary>
    public void Finish(SamplesReceived batch, PipelineOutput output)
    {
        _detections.Clear();
        _detector.Flush(_detections);
        foreach (var beat in _detections)
        {
            _extractor.AddBeat(beat, _completed);
            _windowBeats.Enqueue(beat);
        }

        _extractor.Flush(_completed);
        DrainBeats(output);
        while (_processed > _windowStart)
        {
            CloseWindow(batch, output, Math.Min(_processed, _windowEnd));
        }
    }

    private void Convert(ReadOnlySpan<int> adc, int lead, int n)
    {
        // The same arithmetic as WfdbRecord.Physical and EcgLeads.ReadMillivolts, so the features equal the training data's.
        var scale = Layout.Scales[lead];
        var baseline = Layout.Baselines[lead];
        var units = Layout.UnitScales[lead];
        var stride = _ecgLeads;
        var rhythm = lead == Layout.RhythmPosition;
        var ring = _ring.AsSpan(lead * _ringLength, _ringLength);
        var pos = _processed;
        for (var i = 0; i < n; i++)
        {
            var v = (float)((adc[i] - baseline) * scale);
            if (units != 1f)
            {
                v *= units;
            }

            _frames[(i * stride) + lead] = v;
            ring[(int)((pos + i) & _ringMask)] = v;
            if (rhythm)
            {
                _rhythm[i] = v;
            }
        }
    }

    private void DrainBeats(PipelineOutput output)
    {
        if (_completed.Count == 0)
        {
            return;
        }

        var lead = Layout.RhythmLeadName;
        foreach (var features in _completed)
        {
            var sample = features.SampleIndex;
            var rr = _previousBeat >= 0 ? (sample - _previousBeat) * 1000.0 / SampleRateHz : 0.0;
            _previousBeat = sample;
            output.Beats.Add(new AcquiredBeat(TimeOf(sample), rr, lead));
            output.Features.Add(features);
        }

        _completed.Clear();
    }

    private long WindowIndexAt(DateTimeOffset time) =>
        Math.DivRem(time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, _windowTicks, out var rem) - (rem < 0 ? 1 : 0);

    private void OpenWindow(long index)
    {
        _windowIndex = index;
        var gridStart = DateTimeOffset.UnixEpoch.UtcTicks + (index * _windowTicks);
        _windowStart = Math.Max(0, SampleAt(gridStart));
        _windowEnd = SampleAt(gridStart + _windowTicks);
    }

    /// <summary>The first sample of the segment at or after a UTC time (in ticks).</summary>
    private long SampleAt(long utcTicks)
    {
        var seconds = (utcTicks - Start.UtcTicks) / (double)TimeSpan.TicksPerSecond;
        return (long)Math.Ceiling((seconds * SampleRateHz) - 1e-6);
    }

    private void CloseWindow(SamplesReceived batch, PipelineOutput output, long end)
    {
        var start = _windowStart;
        var count = (int)(end - start);

        // Beats of the window, and the RR intervals that end in it.
        _windowRr.Clear();
        var beats = 0;
        while (_windowBeats.Count > 0 && _windowBeats.Peek() < end)
        {
            var beat = _windowBeats.Dequeue();
            if (beat >= start)
            {
                if (beats < _beatScratch.Length)
                {
                    _beatScratch[beats] = (int)(beat - start);
                }

                beats++;
                if (_previousWindowBeat >= 0)
                {
                    _windowRr.Add((beat - _previousWindowBeat) * 1000.0 / SampleRateHz);
                }
            }

            _previousWindowBeat = beat;
        }

        // A window the segment covers for half its length or less (the segment's first, or its last at a discontinuity)
        // is not emitted: its beats went out all the same, and the grid index stays unique.
        if (count > 0.5 * _fullWindowSamples)
        {
            output.Windows.Add(BuildWindow(batch, start, end, beats));
        }

        OpenWindow(_windowIndex + 1);
    }

    private WindowAcquired BuildWindow(SamplesReceived batch, long start, long end, int beats)
    {
        var count = (int)(end - start);
        var beatSpan = _beatScratch.AsSpan(0, Math.Min(beats, _beatScratch.Length));
        var best = default(SignalQualityResult);
        var assessed = false;
        for (var k = 0; k < _ecgLeads; k++)
        {
            var ring = _ring.AsSpan(k * _ringLength, _ringLength);
            var window = _windowScratch.AsSpan(0, count);
            for (var i = 0; i < count; i++)
            {
                window[i] = ring[(int)((start + i) & _ringMask)];
            }

            var quality = SignalQuality.Assess(window, SampleRateHz, beatSpan);
            if (!assessed || quality.Score > best.Score)
            {
                best = quality;
                assessed = true;
            }
        }

        var rr = _windowRr.ToArray();
        double? rate = null;
        if (beats >= 2 && HeartRate.MeanBpm(rr) is var bpm && double.IsFinite(bpm))
        {
            rate = bpm;
        }

        return new WindowAcquired(
            batch.PatientId,
            batch.DeviceId,
            _windowIndex,
            TimeOf(start),
            TimeOf(end),
            SampleRateHz,
            _extractor.Spec.SampleRateHz,
            Layout.Names,
            best.Score,
            QualityNames.Category(best.Category),
            QualityNames.Issues(best.Issues),
            beats,
            rate,
            rr,
            batch.ReceivedAt);
    }
}
