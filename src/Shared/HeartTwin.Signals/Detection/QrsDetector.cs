using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Detection;

/// <summary>
/// A streaming, causal, multi-lead QRS detector for any sampling rate from 100 to 1000 Hz.
/// </summary>
/// <remarks>
/// Each lead is band-passed to the QRS band (Butterworth, designed for the stream's rate), differentiated and
/// squared; the per-lead energies are normalised by each lead's own QRS level and weighted by that lead's
/// signal-to-noise ratio, so a lead that carries clean QRS complexes dominates and a noisy or lost lead fades out.
/// A moving-window integrator turns the combined energy into one hump per QRS complex. Humps are judged with
/// adaptive signal and noise levels (median of recent peaks, after Hamilton and Tompkins 1986), a lower threshold
/// when a beat is overdue (the causal form of search-back), and a slope test that rejects T waves.
/// Every decision is taken at most <see cref="MaxDecisionDelaySamples"/> after the QRS it reports.
/// </remarks>
public sealed class QrsDetector
{
    private const int History = 8;

    // Integrated |slope| of a 0.05 mV QRS: below it, a lead's first humps are not trusted to scale it.
    private const double LearningFloor = 0.002;

    // Block maxima of each lead's integrated slope, to measure the noise between beats.
    private const double BlockSeconds = 0.05;

    // Lower edge of the out-of-band activity that marks a noise burst, in Hz (clamped to 0.4·fs at low rates).
    private const double OutOfBandHz = 25;

    // A lead whose hump is under this fraction of its own QRS level does not see the candidate. Chosen, with
    // BurstRatio, on the gross figures of the 26 shared MIT-BIH records and of the resampled-rate tests (0.15–0.3 and
    // 1.05–1.6 were tried). Below 1.4 more noise goes, but normal beats of 208, which carry more out-of-band activity
    // than its many PVCs while its second lead barely sees them, start to go too (1.05 loses a hundred).
    private const double QuietFraction = 0.2;

    // A lead bursts when its out-of-band activity per unit of QRS-band slope is this many times the highest such
    // ratio among its recent beats.
    private const double BurstRatio = 1.4;

    // A lead has seen a recent beat when that beat rose to at least this fraction of its QRS level; such a lead misses
    // a candidate whose hump is under half that. Chosen on the gross figures of the 26 shared records (0.35–0.65 give
    // the same figures within 3 beats).
    private const double SeenFraction = 0.5;
    private const double MissedFraction = 0.5 * SeenFraction;

    // A lead is reliable when it has seen this many of its last 8 beats. Not all 8: a false beat that slipped through
    // is one the lead did not see, and demanding all 8 would let it switch the veto off for the next 8 beats, so that
    // noise in the other leads went on passing (108's electrode-motion stretches; all 26 records: 145 → 136 FP, gross
    // missed beats unchanged at 84, though 201 lost 2).
    private const int SeenBeats = History - 1;

    // A candidate on time that a lead which saw each of its last 8 beats shows at least at this fraction of its QRS
    // level (its median beat) is a beat, whatever the other leads say. 0.9 and 1.2 were also tried (see docs).
    private const double ExpectedBeatFraction = 1.0;

    // A candidate earlier than this fraction of the median RR interval is premature. On the gross figures, 0.75–1.0
    // trade a few false beats for a few missed ones; a beat on time is expected and is not vetoed.
    private const double PrematureFraction = 0.85;

    private readonly int _leads;
    private readonly double _fs;
    private readonly QrsDetectorOptions _options;

    // Per-lead filter state: a second-order high-pass and a second-order low-pass, transposed direct form II.
    private readonly double[] _hp; // b0 b1 b2 a1 a2
    private readonly double[] _lp;
    private readonly double[] _hpState; // 2 per lead
    private readonly double[] _lpState;
    private readonly float[] _offset;
    private readonly float[] _lastValid;
    private readonly int[] _flatRun; // consecutive unchanged samples: a lead off or saturated
    private readonly int _flatLimit;

    // Slope ring per lead.
    private readonly int _slopeSpan;
    private readonly float[] _bandRing; // _leads * (_slopeSpan + 1)
    private readonly int _bandRingLength;

    // Per-lead moving-window integration of squared slope.
    private readonly int _window;
    private readonly float[] _energyRing; // _leads * _window
    private readonly double[] _energySum;

    // Combined feature history for fiducial location and T-wave slopes.
    private readonly int _historyLength;
    private readonly float[] _combinedEnergy; // instantaneous normalised energy, ring
    private readonly float[] _combinedMwi; // integrated, ring
    private readonly float[][] _leadMwiRing; // per-lead MWI, ring, for per-lead levels at candidate peaks

    // Per-lead levels: median of recent QRS peaks and noise peaks of each lead's MWI.
    private readonly double[][] _leadSignalPeaks;
    private readonly double[][] _leadNoisePeaks;
    private readonly double[][] _leadGapNoise;
    private readonly int[] _gapNoiseCount;
    private readonly float[][] _blockMax; // per lead, ring of block maxima of the integrated slope
    private readonly float[] _currentBlockMax;
    private readonly int _blockLength;
    private readonly int _blocks;
    private readonly double[] _leadWeight;
    private readonly double[] _leadRunningMax;
    private readonly double[] _candidateScale; // each lead's running maximum when the current candidate began
    private readonly double[] _scratch = new double[History];

    // Per-lead out-of-band activity (above the QRS band), to tell a burst of noise in one lead from a QRS.
    private readonly double[] _hf; // b0 b1 b2 a1 a2 of the high-pass
    private readonly double[] _hfState; // 2 per lead
    private readonly float[] _hfRing; // _leads * _window, |high-passed| for the moving window
    private readonly double[] _hfSum;
    private readonly float[][] _leadHfRing; // per-lead out-of-band activity summed over the window, ring
    private readonly double[][] _leadBeatHfRatio; // out-of-band per unit of QRS-band slope, at recent beats
    private readonly double[][] _leadBeatHump; // each recent beat's hump, relative to the lead's QRS level before it
    private readonly bool _burstTest; // it compares leads: a single lead skips it and its cost

    // Combined-level state.
    private readonly double[] _signalPeaks = new double[History];
    private readonly double[] _noisePeaks = new double[History];
    private readonly double[] _rrHistory = new double[History];
    private int _signalCount;
    private int _noiseCount;
    private int _rrCount;

    private readonly int _refractory;
    private readonly int _tWaveWindow;
    private readonly int _hold;
    private readonly int _fiducialOffset;

    private long _n; // samples processed
    private int _slot;
    private int _ringPos;
    private int _energyPos;
    private int _blockFill;
    private int _blockSlot;
    private bool _started;
    private float _previous;
    private bool _rising;
    private double _candidateValue;
    private double _candidateRank; // what picks the candidate's peak: its value, or LearningRank while learning
    private long _candidateIndex = -1;
    private long _lastBeat = long.MinValue;
    private double _lastBeatSlope;
    private double _learnMax;

    /// <summary>Creates a detector for <paramref name="leadCount"/> interleaved leads sampled at <paramref name="sampleRateHz"/>.</summary>
    /// <param name="leadCount">Number of leads in each frame, at least 1.</param>
    /// <param name="sampleRateHz">Sampling rate in Hz, 50 to 2000.</param>
    /// <param name="options">Detector settings; null for the defaults.</param>
    public QrsDetector(int leadCount, double sampleRateHz, QrsDetectorOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(leadCount, 1);
        if (!(sampleRateHz >= 50 && sampleRateHz <= 2000))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "The QRS detector supports sampling rates from 50 to 2000 Hz.");
        }

        _leads = leadCount;
        _fs = sampleRateHz;
        _options = options ?? new QrsDetectorOptions();

        var high = Math.Min(_options.BandHighHz, 0.45 * _fs);
        var hp = FilterDesign.ButterworthHighPass(2, _options.BandLowHz, _fs).Sections[0];
        var lp = FilterDesign.ButterworthLowPass(2, high, _fs).Sections[0];
        _hp = [hp.B0, hp.B1, hp.B2, hp.A1, hp.A2];
        _lp = [lp.B0, lp.B1, lp.B2, lp.A1, lp.A2];
        _hpState = new double[2 * _leads];
        _lpState = new double[2 * _leads];
        _offset = new float[_leads];
        _lastValid = new float[_leads];
        _flatRun = new int[_leads];
        _flatLimit = (int)Math.Round(0.25 * _fs);

        // Muscle noise and electrode bursts are broadband; a QRS has little energy above 25 Hz.
        var hf = FilterDesign.ButterworthHighPass(2, Math.Min(OutOfBandHz, 0.4 * _fs), _fs).Sections[0];
        _hf = [hf.B0, hf.B1, hf.B2, hf.A1, hf.A2];
        _hfState = new double[2 * _leads];
        _burstTest = _leads >= 2;
        _hfSum = new double[_leads];
        _leadHfRing = new float[_leads][];
        _leadBeatHfRatio = new double[_leads][];
        _leadBeatHump = new double[_leads][];

        _slopeSpan = Math.Max(1, (int)Math.Round(0.008 * _fs));
        _bandRingLength = _slopeSpan + 1;
        _bandRing = new float[_leads * _bandRingLength];

        _window = Math.Max(2, (int)Math.Round(_options.IntegrationWindowSeconds * _fs));
        _energyRing = new float[_leads * _window];
        _energySum = new double[_leads];
        _hfRing = new float[_leads * _window];

        _refractory = (int)Math.Round(_options.RefractorySeconds * _fs);
        _tWaveWindow = (int)Math.Round(_options.TWaveWindowSeconds * _fs);
        _hold = Math.Max(1, (int)Math.Round(_options.PeakHoldSeconds * _fs));

        _historyLength = _hold + (int)Math.Round(0.6 * _fs) + 4;
        _combinedEnergy = new float[_historyLength];
        _combinedMwi = new float[_historyLength];
        _leadMwiRing = new float[_leads][];
        _leadSignalPeaks = new double[_leads][];
        _leadNoisePeaks = new double[_leads][];
        _leadWeight = new double[_leads];
        _leadGapNoise = new double[_leads][];
        _gapNoiseCount = new int[_leads];
        _blockLength = Math.Max(1, (int)Math.Round(BlockSeconds * _fs));
        _blocks = (int)Math.Ceiling(3.0 / BlockSeconds);
        _blockMax = new float[_leads][];
        _currentBlockMax = new float[_leads];
        _leadRunningMax = new double[_leads];
        _candidateScale = new double[_leads];
        for (var l = 0; l < _leads; l++)
        {
            _leadMwiRing[l] = new float[_historyLength];
            _leadHfRing[l] = new float[_historyLength];
            _leadBeatHfRatio[l] = new double[History];
            _leadBeatHump[l] = new double[History];
            _leadSignalPeaks[l] = new double[History];
            _leadNoisePeaks[l] = new double[History];
            _leadGapNoise[l] = new double[History];
            _blockMax[l] = new float[_blocks];
            _leadWeight[l] = 1.0;
        }

        // The steepest slope of the band-passed QRS lags the R wave by the band-pass group delay; subtract it.
        _fiducialOffset = (int)Math.Round(hp.GroupDelaySamples(10.0, _fs) + lp.GroupDelaySamples(10.0, _fs) + (_slopeSpan / 2.0));
    }

    /// <summary>Number of leads per frame.</summary>
    public int LeadCount => _leads;

    /// <summary>Sampling rate, in Hz.</summary>
    public double SampleRateHz => _fs;

    /// <summary>Samples (frames) consumed so far.</summary>
    public long SamplesProcessed => _n;

    /// <summary>
    /// The longest time, in samples, between a QRS complex and the moment the detector reports it:
    /// the integrator's lag plus the peak hold. It is below 300 ms at every rate.
    /// </summary>
    public int MaxDecisionDelaySamples => _window + _hold + _fiducialOffset;

    /// <summary>
    /// Feeds interleaved frames (lead 0, lead 1, …, lead 0, …) in the leads' physical units (mV).
    /// Detected beats are appended to <paramref name="detections"/> as sample indices from the stream's start.
    /// NaN samples (invalid or missing) hold the lead's last valid value.
    /// </summary>
    public void Process(ReadOnlySpan<float> frames, List<long> detections)
    {
        ArgumentNullException.ThrowIfNull(detections);
        if (frames.Length % _leads != 0)
        {
            throw new ArgumentException($"Frames must hold a multiple of {_leads} samples (one per lead); got {frames.Length}.", nameof(frames));
        }

        var count = frames.Length / _leads;
        for (var i = 0; i < count; i++)
        {
            Step(frames.Slice(i * _leads, _leads), detections);
        }
    }

    /// <summary>Feeds one lead's samples (a single-lead detector only).</summary>
    public void ProcessSingleLead(ReadOnlySpan<float> samples, List<long> detections)
    {
        if (_leads != 1)
        {
            throw new InvalidOperationException("ProcessSingleLead needs a detector created for one lead.");
        }

        Process(samples, detections);
    }

    /// <summary>Judges a candidate still pending at the end of the stream.</summary>
    public void Flush(List<long> detections)
    {
        ArgumentNullException.ThrowIfNull(detections);
        if (_candidateIndex >= 0)
        {
            Judge(detections);
        }
    }

    /// <summary>Detects beats in whole recordings held as one array per lead (same length, same rate).</summary>
    public static long[] Detect(IReadOnlyList<float[]> leads, double sampleRateHz, QrsDetectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(leads);
        if (leads.Count == 0)
        {
            throw new ArgumentException("At least one lead is needed.", nameof(leads));
        }

        var length = leads[0].Length;
        if (leads.Any(l => l.Length != length))
        {
            throw new ArgumentException("All leads must have the same length.", nameof(leads));
        }

        var detector = new QrsDetector(leads.Count, sampleRateHz, options);
        var detections = new List<long>(length / (int)Math.Max(1, sampleRateHz / 3));
        const int block = 4096;
        var frames = new float[block * leads.Count];
        for (var start = 0; start < length; start += block)
        {
            var n = Math.Min(block, length - start);
            for (var i = 0; i < n; i++)
            {
                for (var l = 0; l < leads.Count; l++)
                {
                    frames[(i * leads.Count) + l] = leads[l][start + i];
                }
            }

            detector.Process(frames.AsSpan(0, n * leads.Count), detections);
        }

        detector.Flush(detections);
        return [.. detections];
    }

    private void Step(ReadOnlySpan<float> frame, List<long> detections)
    {
        if (!_started)
        {
            for (var l = 0; l < _leads; l++)
            {
                var v = frame[l];
                _offset[l] = float.IsFinite(v) ? v : 0f;
                _lastValid[l] = _offset[l];
            }

            _started = true;
        }

        // Ring positions advance by one per sample; wrapping counters avoid a 64-bit division per ring.
        var slot = _slot;
        var ringPos = _ringPos;
        var ringOld = ringPos + 1 == _bandRingLength ? 0 : ringPos + 1; // the sample _slopeSpan ago
        var energyPos = _energyPos;
        double combined = 0;
        double combinedEnergy = 0;
        for (var l = 0; l < _leads; l++)
        {
            var x = frame[l];
            if (!float.IsFinite(x))
            {
                x = _lastValid[l];
            }
            else
            {
                _flatRun[l] = Math.Abs(x - _lastValid[l]) <= 1e-6f ? _flatRun[l] + 1 : 0;
                _lastValid[l] = x;
            }

            double v = x - _offset[l];

            // High-pass then low-pass, transposed direct form II.
            var h = _hpState.AsSpan(2 * l, 2);
            var y = (_hp[0] * v) + h[0];
            h[0] = (_hp[1] * v) - (_hp[3] * y) + h[1];
            h[1] = (_hp[2] * v) - (_hp[4] * y);
            var p = _lpState.AsSpan(2 * l, 2);
            var z = (_lp[0] * y) + p[0];
            p[0] = (_lp[1] * y) - (_lp[3] * z) + p[1];
            p[1] = (_lp[2] * y) - (_lp[4] * z);

            if (_burstTest)
            {
                // Out-of-band activity, integrated over the same window as the QRS feature.
                var g = _hfState.AsSpan(2 * l, 2);
                var u = (_hf[0] * v) + g[0];
                g[0] = (_hf[1] * v) - (_hf[3] * u) + g[1];
                g[1] = (_hf[2] * v) - (_hf[4] * u);
                var hfRing = _hfRing.AsSpan(l * _window, _window);
                var hfAbs = (float)Math.Abs(u);
                _hfSum[l] += hfAbs - hfRing[energyPos];
                hfRing[energyPos] = hfAbs;
                _leadHfRing[l][slot] = (float)_hfSum[l]; // a sum, not a mean: only its ratios are used
            }

            var ring = _bandRing.AsSpan(l * _bandRingLength, _bandRingLength);
            ring[ringPos] = (float)z;
            var slope = z - ring[ringOld];
            var energy = (float)Math.Abs(slope);

            var eRing = _energyRing.AsSpan(l * _window, _window);
            _energySum[l] += energy - eRing[energyPos];
            eRing[energyPos] = energy;
            var mwi = Math.Max(0, _energySum[l]) / _window;
            _leadMwiRing[l][slot] = (float)mwi;
            if (mwi > _currentBlockMax[l])
            {
                _currentBlockMax[l] = (float)mwi;
            }

            if (mwi > _leadRunningMax[l])
            {
                _leadRunningMax[l] = mwi;
            }

            var w = _flatRun[l] >= _flatLimit ? 0 : LeadWeight(l);
            combined += w * mwi;
            combinedEnergy += w * energy;
        }

        if (++_blockFill == _blockLength)
        {
            _blockFill = 0;
            var block = _blockSlot;
            _blockSlot = _blockSlot + 1 == _blocks ? 0 : _blockSlot + 1;
            for (var l = 0; l < _leads; l++)
            {
                _blockMax[l][block] = _currentBlockMax[l];
                _currentBlockMax[l] = 0;
            }
        }

        _combinedMwi[slot] = (float)combined;
        _combinedEnergy[slot] = (float)combinedEnergy;

        // Candidate peaks: a rising edge starts one; the highest value held for _hold samples ends it.
        var c = (float)combined;
        if (c > _previous)
        {
            _rising = true;
        }

        if (_rising)
        {
            var rank = _signalCount < 2 ? LearningRank(slot) : c;
            if (rank > _candidateRank)
            {
                _candidateRank = rank;
                _candidateValue = c;
                _candidateIndex = _n;
            }
        }

        _previous = c;
        if (_candidateIndex >= 0 && _n - _candidateIndex >= _hold)
        {
            Judge(detections);
        }

        _n++;
        _slot = _slot + 1 == _historyLength ? 0 : _slot + 1;
        _ringPos = ringOld;
        _energyPos = energyPos + 1 == _window ? 0 : energyPos + 1;
    }

    /// <summary>
    /// How high the combined feature stands at <paramref name="slot"/> while the stream's scale is being learnt, measured
    /// on each lead's scale as it stood at the current candidate's first sample (the running maximum then, which that
    /// sample, at the foot of the hump, has hardly raised).
    /// </summary>
    /// <remarks>
    /// While learning, each lead is divided by its running maximum, so every hump that sets a new maximum reads 1 per
    /// lead. A QRS that follows the stream's first P or T wave within the peak hold then reads no higher than that wave,
    /// the candidate stays on the wave, and the wave is reported while the QRS is lost. Ranked on the scale from before
    /// the candidate, the larger hump wins (first 3 s of the 26 shared records: 11 false and 11 missed beats before, 7
    /// and 3 after).
    /// </remarks>
    private double LearningRank(int slot)
    {
        if (_candidateIndex < 0)
        {
            for (var l = 0; l < _leads; l++)
            {
                _candidateScale[l] = Math.Max(_leadRunningMax[l], LearningFloor);
            }
        }

        double rank = 0;
        for (var l = 0; l < _leads; l++)
        {
            if (_flatRun[l] < _flatLimit)
            {
                rank += _leadMwiRing[l][slot] / _candidateScale[l];
            }
        }

        return rank;
    }

    private double LeadWeight(int l)
    {
        if (_signalCount < 2)
        {
            // Until beats are known, each lead is scaled by the largest hump it has shown.
            var m = Math.Max(_leadRunningMax[l], LearningFloor);
            return 1.0 / m;
        }

        return _leadWeight[l];
    }

    private void Judge(List<long> detections)
    {
        var peakIndex = _candidateIndex;
        var value = _candidateValue;
        _candidateIndex = -1;
        _candidateValue = 0;
        _candidateRank = 0;
        _rising = false;

        // The hump of the integrator spans [peak − window, peak]; the steepest slope within it marks the QRS.
        var searchStart = Math.Max(0, peakIndex - _window - (long)Math.Round(0.02 * _fs));
        searchStart = Math.Max(searchStart, _n - _historyLength + 1);
        long slopeIndex = peakIndex;
        double maxEnergy = -1;
        for (var k = searchStart; k <= peakIndex; k++)
        {
            var e = _combinedEnergy[(int)(k % _historyLength)];
            if (e > maxEnergy)
            {
                maxEnergy = e;
                slopeIndex = k;
            }
        }

        var beat = Math.Max(0, slopeIndex - _fiducialOffset);
        var sinceLast = _lastBeat == long.MinValue ? long.MaxValue : beat - _lastBeat;

        if (slopeIndex < _window)
        {
            // The stream began inside this hump: the integrator was not yet full, so it is no measure of a QRS.
            return;
        }

        if (_signalCount < 2 && _n < 2 * _fs)
        {
            _learnMax = Math.Max(_learnMax, value);
        }

        if (sinceLast < _refractory)
        {
            return;
        }

        var signalLevel = _signalCount > 0 ? Median(_signalPeaks, _signalCount) : _learnMax;
        var noiseLevel = _noiseCount > 0 ? Median(_noisePeaks, _noiseCount) : 0;
        var threshold = noiseLevel + (_options.ThresholdFraction * (signalLevel - noiseLevel));
        var slot0 = (int)(peakIndex % _historyLength);

        var rr = _rrCount > 0 ? Median(_rrHistory, _rrCount) : double.NaN;
        if (!double.IsNaN(rr) && sinceLast > 1.5 * rr)
        {
            // Overdue beat: the causal counterpart of search-back.
            threshold *= 0.5;
        }

        var overdue = !double.IsNaN(rr) && sinceLast > 1.5 * rr;
        if (overdue && _signalCount >= 2)
        {
            // A lead may have been lost since the weights were set: judge an overdue candidate by every live lead equally.
            double sum = 0;
            var live = 0;
            var count = Math.Min(_signalCount, History);
            for (var l = 0; l < _leads; l++)
            {
                var level = Median(_leadSignalPeaks[l], count);
                if (_flatRun[l] < _flatLimit && level > LearningFloor)
                {
                    sum += Math.Min(2.0, _leadMwiRing[l][slot0] / level);
                    live++;
                }
            }

            if (live > 0)
            {
                value = Math.Max(value, sum / live);
            }
        }

        // Noise bursts lift the integrator for a while; a QRS stands out from what came just before it.
        var background = 0.0;
        var from = Math.Max(Math.Max(0, peakIndex - (long)Math.Round(0.5 * _fs)), _n - _historyLength + 1);
        var to = peakIndex - (long)Math.Round(0.2 * _fs);
        var humpStart = _lastBeat == long.MinValue ? long.MaxValue : _lastBeat - (long)Math.Round(0.05 * _fs);
        var humpEnd = _lastBeat == long.MinValue ? long.MinValue : _lastBeat + _window + (long)Math.Round(0.15 * _fs);
        for (var k = from; k <= to; k++)
        {
            if (k >= humpStart && k <= humpEnd)
            {
                continue;
            }

            var ks = (int)(k % _historyLength);
            if (_signalCount < 2)
            {
                // While learning, each lead's scale grows with every new maximum, so older combined values were
                // measured on a smaller scale: weigh the stored per-lead values with today's weights instead.
                double b = 0;
                for (var l = 0; l < _leads; l++)
                {
                    b += LeadWeight(l) * _leadMwiRing[l][ks];
                }

                background = Math.Max(background, b);
            }
            else
            {
                background = Math.Max(background, _combinedMwi[ks]);
            }
        }

        var isBeat = value > threshold && value > _options.BackgroundFactor * background;
        if (!isBeat && !overdue && sinceLast >= PrematureFraction * rr && IsSeenByReliableLead(slot0))
        {
            // A beat is due, and a lead that has seen every recent beat shows this one as a QRS: the combined feature
            // falls short because the other leads lost it (saturated, drifting, or off), not because it is not there.
            // It overrules both the threshold and the background test: a drifting lead raises the background too, and
            // keeping the background test here costs 21 beats of the 26 records to save 2 false ones. An overdue
            // candidate has its own lowered threshold, judged on every live lead alike, and is left to it.
            isBeat = true;
        }

        if (isBeat && sinceLast < _tWaveWindow && _lastBeatSlope > 0 && maxEnergy < 0.5 * _lastBeatSlope)
        {
            // Slope less than half of the previous QRS's, so soon after it: a T wave.
            isBeat = false;
        }

        var slot = (int)(peakIndex % _historyLength);
        if (isBeat && (IsOneLeadBurst(slot) || (!overdue && sinceLast < PrematureFraction * rr && IsMissedByReliableLead(slot))))
        {
            // Noise in some leads is rejected without raising the noise level: it says nothing of the noise a QRS must beat.
            return;
        }

        if (isBeat)
        {
            detections.Add(beat);
            if (_lastBeat != long.MinValue && sinceLast < 3 * _fs)
            {
                Push(_rrHistory, ref _rrCount, sinceLast);
            }

            if (_lastBeat != long.MinValue)
            {
                MeasureGapNoise(_lastBeat, beat);
            }

            _lastBeat = beat;
            _lastBeatSlope = maxEnergy;
            var known = Math.Min(_signalCount, History);
            for (var l = 0; l < _leads; l++)
            {
                // Measured against the level before this beat, as a candidate is.
                var level = known > 0 ? Median(_leadSignalPeaks[l], known) : 0;
                PushAt(_leadBeatHump[l], _signalCount, level > 0 ? _leadMwiRing[l][slot] / level : 0);
            }

            Push(_signalPeaks, ref _signalCount, value);
            for (var l = 0; l < _leads; l++)
            {
                PushAt(_leadSignalPeaks[l], _signalCount - 1, _leadMwiRing[l][slot]);
                var m = _leadMwiRing[l][slot];
                PushAt(_leadBeatHfRatio[l], _signalCount - 1, m > 0 ? _leadHfRing[l][slot] / m : 0);
            }

            UpdateLeadWeights();
        }
        else
        {
            Push(_noisePeaks, ref _noiseCount, value);
            for (var l = 0; l < _leads; l++)
            {
                PushAt(_leadNoisePeaks[l], _noiseCount - 1, _leadMwiRing[l][slot]);
            }
        }
    }

    /// <summary>
    /// True when the leads that show this candidate all burst with out-of-band noise while another lead stays quiet:
    /// a burst of noise in some leads, not a QRS, which shows in every lead that is not itself noisy.
    /// </summary>
    /// <remarks>
    /// A lead is quiet when its hump is under <see cref="QuietFraction"/> of its own QRS level. A lead that shows the
    /// candidate bursts when its out-of-band activity per unit of QRS-band slope exceeds <see cref="BurstRatio"/> times
    /// the same ratio at its recent beats: muscle noise and electrode bursts are broadband, a QRS is not. The ratio is
    /// not judged in a quiet lead, where a little noise over almost no slope reads as a burst. A premature beat that
    /// one lead does not see keeps the spectrum of a QRS in the leads that do see it, so it is kept.
    /// </remarks>
    private bool IsOneLeadBurst(int slot)
    {
        if (_signalCount < 2 || !_burstTest)
        {
            return false;
        }

        var count = Math.Min(_signalCount, History);
        var quiet = 0;
        var loud = 0;
        for (var l = 0; l < _leads; l++)
        {
            var level = Median(_leadSignalPeaks[l], count);
            if (_flatRun[l] >= _flatLimit || level <= LearningFloor)
            {
                continue;
            }

            var mwi = _leadMwiRing[l][slot];
            if (mwi < QuietFraction * level)
            {
                quiet++;
                continue;
            }

            // Compared with the most out-of-band of its recent beats: beats of several shapes (normal and ectopic)
            // differ in their spectrum, and none of them may read as a burst.
            var beatRatio = Max(_leadBeatHfRatio[l], count);
            if (_leadHfRing[l][slot] <= BurstRatio * beatRatio * mwi)
            {
                return false; // a lead shows the candidate with the spectrum of a QRS
            }

            loud++;
        }

        return quiet > 0 && loud > 0;
    }

    /// <summary>
    /// True when a lead that has clearly seen at least 7 of its last 8 beats barely sees this candidate: a premature
    /// hump in the other leads that this lead misses is noise in them, not a QRS.
    /// </summary>
    /// <remarks>
    /// The caller applies it to premature candidates only (before <see cref="PrematureFraction"/> of the median RR, and
    /// never to an overdue one): a beat on time is expected, and a lead that loses its signal then must not hide it.
    /// A lead that misses beats (an ectopic focus whose axis it is orthogonal to) has shown two or more under
    /// <see cref="SeenFraction"/> among its last 8 and gets no vote. One miss is forgiven, because it is most often a
    /// false beat that passed: counting it would switch the veto off for the 8 beats after every false beat. The price:
    /// a lead that misses only isolated ectopic beats, more than 8 beats apart, keeps its vote and vetoes them when they
    /// come early, and a vetoed beat is not recorded as missed (201 lost 2 beats this way on the 26 shared records).
    /// </remarks>
    private bool IsMissedByReliableLead(int slot)
    {
        if (_signalCount < History + 1 || !_burstTest)
        {
            return false;
        }

        for (var l = 0; l < _leads; l++)
        {
            var level = Median(_leadSignalPeaks[l], History);
            if (_flatRun[l] >= _flatLimit || level <= LearningFloor || _leadMwiRing[l][slot] >= MissedFraction * level)
            {
                continue;
            }

            if (BeatsSeen(l) >= SeenBeats)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when a lead that has clearly seen each of its last 8 beats shows this candidate at least at its usual QRS
    /// level (<see cref="ExpectedBeatFraction"/> of the median of its recent beats).
    /// </summary>
    /// <remarks>
    /// The mirror of <see cref="IsMissedByReliableLead"/>, and the caller's counterpart for beats on time (at or after
    /// <see cref="PrematureFraction"/> of the median RR, but not overdue) rather than early; it overrules both the
    /// threshold and the background test. When one lead saturates or drifts without
    /// its QRS, the combined feature loses that lead's share and an on-time beat can fall under the threshold, while
    /// the other lead shows it plainly; beats then went missing in runs (116, one in two while its first lead drifted).
    /// To overrule the threshold the lead must have seen all 8 of its last beats, not 7.
    /// </remarks>
    private bool IsSeenByReliableLead(int slot)
    {
        if (_signalCount < History + 1 || !_burstTest)
        {
            return false;
        }

        for (var l = 0; l < _leads; l++)
        {
            var level = Median(_leadSignalPeaks[l], History);
            if (_flatRun[l] >= _flatLimit || level <= LearningFloor || _leadMwiRing[l][slot] < ExpectedBeatFraction * level)
            {
                continue;
            }

            if (BeatsSeen(l) == History)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>How many of lead <paramref name="l"/>'s last 8 beats rose to <see cref="SeenFraction"/> of its QRS level.</summary>
    private int BeatsSeen(int l)
    {
        var seen = 0;
        for (var i = 0; i < History; i++)
        {
            seen += _leadBeatHump[l][i] >= SeenFraction ? 1 : 0;
        }

        return seen;
    }

    /// <summary>Each lead's largest integrated slope between two beats (outside both QRS humps): its noise, T waves included.</summary>
    private void MeasureGapNoise(long previousBeat, long beat)
    {
        var gapStart = previousBeat + _window + (long)Math.Round(0.1 * _fs);
        var gapEnd = beat - (long)Math.Round(0.05 * _fs);
        var completedBlocks = _n / _blockLength; // blocks [0, completedBlocks) are stored
        var firstBlock = Math.Max((gapStart + _blockLength - 1) / _blockLength, completedBlocks - _blocks);
        var lastBlock = Math.Min((gapEnd / _blockLength) - 1, completedBlocks - 1);
        if (lastBlock - firstBlock < 1)
        {
            return;
        }

        for (var l = 0; l < _leads; l++)
        {
            double max = 0;
            for (var b = firstBlock; b <= lastBlock; b++)
            {
                max = Math.Max(max, _blockMax[l][(int)(b % _blocks)]);
            }

            _leadGapNoise[l][_gapNoiseCount[l] % History] = max;
            _gapNoiseCount[l]++;
        }
    }

    private void UpdateLeadWeights()
    {
        if (_signalCount < 2)
        {
            return;
        }

        // Each lead is normalised by its own QRS level and weighted by its signal-to-noise ratio.
        var count = Math.Min(_signalCount, History);
        Span<double> quality = stackalloc double[_leads];
        double total = 0;
        for (var l = 0; l < _leads; l++)
        {
            var level = Median(_leadSignalPeaks[l], count);
            var gaps = _gapNoiseCount[l];
            var noise = 0.0;
            if (gaps > 0)
            {
                // Noise rises fast (the mean of the last two gaps) and falls slowly (the median of eight).
                var last = _leadGapNoise[l][(gaps - 1) % History];
                var before = gaps > 1 ? _leadGapNoise[l][(gaps - 2) % History] : last;
                noise = Math.Max(Median(_leadGapNoise[l], gaps), 0.5 * (last + before));
            }

            // Inverse-variance weighting: a lead counts by the square of its QRS-to-noise ratio.
            var snr = level / Math.Max(noise, 1e-3 * level);
            var q = level > 0 ? snr * snr : 0;
            quality[l] = q;
            total += q;
            _leadWeight[l] = level > 0 ? 1.0 / level : 0;
        }

        for (var l = 0; l < _leads; l++)
        {
            _leadWeight[l] *= total > 0 ? quality[l] / total : 1.0 / _leads;
        }

        // Levels were measured in the old scale; the new weights make a typical QRS hump about 1.
        Array.Fill(_signalPeaks, 1.0);
        for (var i = 0; i < Math.Min(_noiseCount, History); i++)
        {
            double s = 0;
            for (var l = 0; l < _leads; l++)
            {
                s += _leadWeight[l] * _leadNoisePeaks[l][i];
            }

            _noisePeaks[i] = s;
        }
    }

    private static double Max(double[] values, int count)
    {
        var max = 0.0;
        for (var i = 0; i < count; i++)
        {
            max = Math.Max(max, values[i]);
        }

        return max;
    }

    private static void Push(double[] buffer, ref int count, double value)
    {
        buffer[count % History] = value;
        count++;
    }

    private static void PushAt(double[] buffer, int index, double value) => buffer[index % History] = value;

    private double Median(double[] values, int count)
    {
        var n = Math.Min(count, History);
        var s = _scratch.AsSpan(0, n);
        values.AsSpan(0, n).CopyTo(s);
        s.Sort();
        return (n & 1) == 1 ? s[n / 2] : 0.5 * (s[(n / 2) - 1] + s[n / 2]);
    }
}
