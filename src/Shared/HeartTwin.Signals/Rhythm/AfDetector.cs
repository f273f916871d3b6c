using System.Numerics;

namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Streaming atrial fibrillation (AF) detector over beat times: the low-complexity RR-irregularity detector of Petrėnas,
/// Marozas and Sörnmo, "Low-complexity detection of atrial fibrillation in continuous long-term monitoring",
/// Computers in Biology and Medicine 65:184–191 (2015), confirmed by the coefficient of sample entropy of Lake and
/// Moorman (2011), with zero-phase smoothing over a bounded look-ahead and a minimum episode length.
/// </summary>
/// <remarks>
/// <para>For RR interval r(n) (seconds) the stages are, with the constants of <see cref="AfDetectorOptions"/>:</para>
/// <list type="number">
/// <item><description>Ectopic-beat filtering: r_m(n) = median{r(n−1), r(n), r(n+1)}. An isolated premature beat and its
/// compensatory pause, a missed beat (one doubled interval) or any single outlying interval disappears.</description></item>
/// <item><description>Ectopy (optional): beats that the caller flags ventricular, in runs of at most
/// <see cref="AfDetectorOptions.MaxEctopicRunBeats"/>, are moved to even spacing between the beats around them before r(n) is
/// taken, so couplets and variable coupling do not read as irregularity. The beats' reported times are not moved.</description></item>
/// <item><description>Irregularity: M(n) is the fraction of the N(N−1)/2 pairs of r_m(n−N+1..n) that differ by at least γ.</description></item>
/// <item><description>Bigeminy suppression: B(n) = (Σ r_m / Σ r − 1)² over the same window. Median filtering swaps the short
/// and long intervals of a bigeminy without changing their sum, so B ≈ 0 there (and in regular rhythm), while AF makes
/// the sums differ.</description></item>
/// <item><description>Smoothing: exponential averagers (factor α) of r, M and B give the RR trend r̄, M̄ and B̄. The paper runs
/// them forwards; here they also run backwards over <see cref="AfDetectorOptions.LookAheadBeats"/> future intervals
/// (started from the forward value there), which removes the forward averager's lag at onsets and offsets.</description></item>
/// <item><description>Fusion: O(n) = M̄/r̄ when B̄ ≥ δ, else B̄ (which is below δ, so below η). AF when O(n) &gt; η.</description></item>
/// <item><description>Confirmation: the coefficient of sample entropy (<see cref="SampleEntropy.Cosen"/>) of the
/// <see cref="AfDetectorOptions.EntropyWindowBeats"/> intervals centred on n must exceed its threshold. Repeating patterns
/// (sinus arrhythmia, bigeminy, trigeminy, regular flutter) have low entropy even when they are variable.</description></item>
/// <item><description>Episodes: runs of AF decisions shorter than <see cref="AfDetectorOptions.MinEpisodeBeats"/> are dropped;
/// the edges of a kept run move (by at most <see cref="AfDetectorOptions.BoundaryRefinementBeats"/>) to where the
/// unsmoothed, centred irregularity M(n)/r̄(n) crosses η.</description></item>
/// </list>
/// <para>Each beat is flagged as the end of the RR interval that was judged; the first beat takes the flag of the first
/// interval. A beat's flag is reported on the arrival of the beat <see cref="MaxDelayBeats"/> later (or on
/// <see cref="Flush"/>); an episode onset is reported as soon as the run is long enough, an offset as soon as it ends.</para>
/// <para>Nothing here depends on the sampling rate: beat times are in seconds. Work per beat is bounded (about
/// N² + W² + 3 L operations) and nothing is allocated after construction.</para>
/// </remarks>
public sealed class AfDetector
{
    private readonly int _n;
    private readonly double _gamma;
    private readonly double _alpha;
    private readonly double _delta;
    private readonly double _eta;
    private readonly bool _useEntropy;
    private readonly int _w;
    private readonly double _entropyTolerance;
    private readonly double _entropyThreshold;
    private readonly int _lookAhead;
    private readonly int _minRun;
    private readonly int _refine;
    private readonly int _hold;
    private readonly int _mask;
    private readonly int _maxEctopicRun;

    // Rings indexed by beat index (times) or by interval index (interval i runs from beat i to beat i + 1).
    private readonly double[] _time;
    private readonly double[] _rrTime; // the times the intervals are taken from: _time, with held ventricular runs evened out
    private readonly double[] _rr;
    private readonly double[] _rrMedian;
    private readonly double[] _irregularity;
    private readonly double[] _bigeminy;
    private readonly double[] _trendForward;
    private readonly double[] _irregularityForward;
    private readonly double[] _bigeminyForward;
    private readonly bool[] _decision;
    private readonly bool[] _rawIrregular;
    private readonly bool[] _isAf;
    private readonly double[] _statistic;
    private readonly double[] _entropy;
    private readonly double[] _scratch;

    private long _beats;
    private long _nextA;
    private long _nextB;
    private long _nextOut;
    private bool _initialised;
    private double _trend;
    private double _irregularityAverage;
    private double _bigeminyAverage;
    private bool _inEpisode;
    private long _run;
    private long _episodeStart;
    private bool _flushed;
    private long _released; // beats whose interval into them is in _rr
    private int _held; // ventricular beats after _released, waiting for the beat that ends their run
    private bool _inLongRun;

    /// <summary>Creates a detector.</summary>
    /// <param name="options">Settings; null for the published defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public AfDetector(AfDetectorOptions? options = null)
    {
        Options = options ?? new AfDetectorOptions();
        Options.Validate();
        _n = Options.IrregularityWindowBeats;
        _gamma = Options.IrregularityToleranceSeconds;
        _alpha = Options.SmoothingFactor;
        _delta = Options.BigeminyThreshold;
        _eta = Options.DecisionThreshold;
        _useEntropy = Options.UseEntropyConfirmation;
        _w = Options.EntropyWindowBeats;
        _entropyTolerance = Options.EntropyToleranceSeconds;
        _entropyThreshold = Options.EntropyThreshold;
        _lookAhead = Options.LookAheadBeats;
        _minRun = Options.MinEpisodeBeats;
        _refine = Options.BoundaryRefinementBeats;
        _hold = _minRun - 1 + _refine;
        _maxEctopicRun = Options.MaxEctopicRunBeats;
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)(_lookAhead + _hold + _w + _n + _maxEctopicRun + 16));
        _mask = capacity - 1;
        _time = new double[capacity];
        _rrTime = new double[capacity];
        _rr = new double[capacity];
        _rrMedian = new double[capacity];
        _irregularity = new double[capacity];
        _bigeminy = new double[capacity];
        _trendForward = new double[capacity];
        _irregularityForward = new double[capacity];
        _bigeminyForward = new double[capacity];
        _decision = new bool[capacity];
        _rawIrregular = new bool[capacity];
        _isAf = new bool[capacity];
        _statistic = new double[capacity];
        _entropy = new double[capacity];
        _scratch = new double[_w];
    }

    /// <summary>The settings in use.</summary>
    public AfDetectorOptions Options { get; }

    /// <summary>The longest delay, in beats, between a beat's arrival and the report of its flag.</summary>
    public int MaxDelayBeats => Options.MaxDelayBeats;

    /// <summary>Beats received so far.</summary>
    public long BeatCount => _beats;

    /// <summary>Whether an AF episode is in progress (as far as the detector has decided).</summary>
    public bool InEpisode => _inEpisode;

    /// <summary>Analyses a whole series of beat times.</summary>
    /// <param name="beatTimesSeconds">Beat times in seconds, strictly increasing.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>One decision per beat and the episode events.</returns>
    public static AfAnalysis Analyze(ReadOnlySpan<double> beatTimesSeconds, AfDetectorOptions? options = null) =>
        Analyze(beatTimesSeconds, [], options);

    /// <summary>Analyses a whole series of beat times, some of them flagged ventricular.</summary>
    /// <param name="beatTimesSeconds">Beat times in seconds, strictly increasing.</param>
    /// <param name="ventricular">Per beat, whether it is ventricular (from a beat classifier); empty when not known.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>One decision per beat and the episode events.</returns>
    /// <exception cref="ArgumentException">The flags are neither empty nor one per beat.</exception>
    public static AfAnalysis Analyze(ReadOnlySpan<double> beatTimesSeconds, ReadOnlySpan<bool> ventricular, AfDetectorOptions? options = null)
    {
        if (!ventricular.IsEmpty && ventricular.Length != beatTimesSeconds.Length)
        {
            throw new ArgumentException($"Give one ventricular flag per beat ({beatTimesSeconds.Length}) or none; got {ventricular.Length}.", nameof(ventricular));
        }

        var detector = new AfDetector(options);
        var beats = new List<AfBeat>(beatTimesSeconds.Length);
        var events = new List<AfEpisodeEvent>();
        for (var i = 0; i < beatTimesSeconds.Length; i++)
        {
            detector.AddBeat(beatTimesSeconds[i], !ventricular.IsEmpty && ventricular[i], beats, events);
        }

        detector.Flush(beats, events);
        return new AfAnalysis(beats, events);
    }

    /// <summary>Analyses a whole series of beat positions given as sample indices.</summary>
    /// <param name="beatSamples">Beat sample indices, strictly increasing.</param>
    /// <param name="sampleRateHz">The sampling rate of the indices, in Hz.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>One decision per beat and the episode events.</returns>
    public static AfAnalysis Analyze(ReadOnlySpan<long> beatSamples, double sampleRateHz, AfDetectorOptions? options = null) =>
        Analyze(beatSamples, sampleRateHz, [], options);

    /// <summary>Analyses a whole series of beat positions given as sample indices, some of them flagged ventricular.</summary>
    /// <param name="beatSamples">Beat sample indices, strictly increasing.</param>
    /// <param name="sampleRateHz">The sampling rate of the indices, in Hz.</param>
    /// <param name="ventricular">Per beat, whether it is ventricular (from a beat classifier); empty when not known.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>One decision per beat and the episode events.</returns>
    public static AfAnalysis Analyze(ReadOnlySpan<long> beatSamples, double sampleRateHz, ReadOnlySpan<bool> ventricular, AfDetectorOptions? options = null)
    {
        if (!(sampleRateHz > 0) || !double.IsFinite(sampleRateHz))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "The sampling rate must be positive and finite.");
        }

        var times = new double[beatSamples.Length];
        for (var i = 0; i < times.Length; i++)
        {
            times[i] = beatSamples[i] / sampleRateHz;
        }

        return Analyze(times, ventricular, options);
    }

    /// <summary>Adds the next beat.</summary>
    /// <param name="timeSeconds">The beat's time in seconds, later than the previous beat's.</param>
    /// <param name="beats">Receives the beats whose flags became final.</param>
    /// <param name="events">Receives episode onsets and offsets decided on this beat.</param>
    /// <exception cref="ArgumentOutOfRangeException">The time is not finite or not after the previous beat.</exception>
    /// <exception cref="InvalidOperationException">The stream was already flushed.</exception>
    public void AddBeat(double timeSeconds, List<AfBeat> beats, List<AfEpisodeEvent> events) =>
        AddBeat(timeSeconds, ventricular: false, beats, events);

    /// <summary>Adds the next beat, saying whether it is ventricular.</summary>
    /// <param name="timeSeconds">The beat's time in seconds, later than the previous beat's.</param>
    /// <param name="ventricular">Whether a beat classifier called it ventricular: runs of at most
    /// <see cref="AfDetectorOptions.MaxEctopicRunBeats"/> such beats are evened out before the RR intervals are judged.</param>
    /// <param name="beats">Receives the beats whose flags became final.</param>
    /// <param name="events">Receives episode onsets and offsets decided on this beat.</param>
    /// <exception cref="ArgumentOutOfRangeException">The time is not finite or not after the previous beat.</exception>
    /// <exception cref="InvalidOperationException">The stream was already flushed.</exception>
    public void AddBeat(double timeSeconds, bool ventricular, List<AfBeat> beats, List<AfEpisodeEvent> events)
    {
        ArgumentNullException.ThrowIfNull(beats);
        ArgumentNullException.ThrowIfNull(events);
        if (_flushed)
        {
            throw new InvalidOperationException("The detector was flushed; create a new one for a new stream.");
        }

        if (!double.IsFinite(timeSeconds) || (_beats > 0 && timeSeconds <= _time[(_beats - 1) & _mask]))
        {
            throw new ArgumentOutOfRangeException(nameof(timeSeconds), timeSeconds, "Beat times must be finite and strictly increasing.");
        }

        var index = _beats;
        _time[index & _mask] = timeSeconds;
        _rrTime[index & _mask] = timeSeconds;
        _beats++;
        if (ventricular && index > 0 && !_inLongRun)
        {
            // Hold the run until the beat that ends it gives the span to spread it over.
            if (++_held <= _maxEctopicRun)
            {
                return;
            }

            _inLongRun = true; // too long to be ectopy: released as it is, with the rest of the run
        }
        else if (!ventricular)
        {
            _inLongRun = false;
            if (_held > 0)
            {
                // Even spacing between the beat before the run and this one.
                var first = index - _held;
                var before = _rrTime[(first - 1) & _mask];
                var step = (timeSeconds - before) / (_held + 1);
                for (var b = first; b < index; b++)
                {
                    _rrTime[b & _mask] = before + ((b - first + 1) * step);
                }
            }
        }

        _held = 0;
        Release(index, beats, events);
    }

    // Takes the intervals into beats _released + 1 .. last and judges what they complete, one beat at a time as they came.
    private void Release(long last, List<AfBeat> beats, List<AfEpisodeEvent> events)
    {
        for (var b = Math.Max(_released + 1, 1); b <= last; b++)
        {
            var newest = b - 1;
            _rr[newest & _mask] = _rrTime[b & _mask] - _rrTime[newest & _mask];

            // r_m(j) needs r(j + 1): the newest interval completes the median of the one before it.
            while (_nextA < newest)
            {
                StageA(_nextA, newest);
                _nextA++;
            }

            Decide(_nextA - 1, newest, beats, events, flushing: false);
        }

        _released = Math.Max(_released, last);
    }

    /// <summary>Ends the stream: decides the last beats with the look-ahead that exists and reports every remaining flag.
    /// An episode still in progress is not closed (no offset event).</summary>
    /// <param name="beats">Receives the remaining beats.</param>
    /// <param name="events">Receives events decided now.</param>
    public void Flush(List<AfBeat> beats, List<AfEpisodeEvent> events)
    {
        ArgumentNullException.ThrowIfNull(beats);
        ArgumentNullException.ThrowIfNull(events);
        if (_flushed)
        {
            return;
        }

        _flushed = true;
        if (_beats == 0)
        {
            return;
        }

        // A run still held at the end has no beat after it to be spread towards: its intervals are taken as they are.
        _held = 0;
        Release(_beats - 1, beats, events);
        var newest = _beats - 2;
        while (_nextA <= newest)
        {
            StageA(_nextA, newest);
            _nextA++;
        }

        if (!_initialised)
        {
            // Too few intervals for one irregularity window: nothing can be judged.
            for (var b = 0L; b < _beats; b++)
            {
                beats.Add(new AfBeat(b, _time[b & _mask], false, double.NaN, double.NaN));
            }

            return;
        }

        Decide(newest, newest, beats, events, flushing: true);
        while (_nextOut <= newest)
        {
            Emit(_nextOut++, beats);
        }
    }

    private void StageA(long j, long newest)
    {
        var r = _rr[j & _mask];
        var previous = j > 0 ? _rr[(j - 1) & _mask] : r;
        var next = j < newest ? _rr[(j + 1) & _mask] : r;
        _rrMedian[j & _mask] = Median3(previous, r, next);
        if (j < _n - 1)
        {
            return;
        }

        // Irregularity M and bigeminy measure B over r_m(j − N + 1 .. j).
        var pairsDiffering = 0;
        double sumMedian = 0, sumRaw = 0;
        for (var p = j - _n + 1; p <= j; p++)
        {
            var a = _rrMedian[p & _mask];
            sumMedian += a;
            sumRaw += _rr[p & _mask];
            for (var q = p + 1; q <= j; q++)
            {
                if (Math.Abs(a - _rrMedian[q & _mask]) >= _gamma)
                {
                    pairsDiffering++;
                }
            }
        }

        var m = 2.0 * pairsDiffering / (_n * (_n - 1));
        var ratio = (sumMedian / sumRaw) - 1;
        var bigeminy = ratio * ratio;
        _irregularity[j & _mask] = m;
        _bigeminy[j & _mask] = bigeminy;
        if (!_initialised)
        {
            // Start the averagers at the first full window (the trend at the window's mean) and give the first
            // N − 1 intervals the same values, rather than rising from zero through the first episode.
            _initialised = true;
            _trend = sumRaw / _n;
            _irregularityAverage = m;
            _bigeminyAverage = bigeminy;
            for (var p = 0L; p < j; p++)
            {
                _irregularity[p & _mask] = m;
                _bigeminy[p & _mask] = bigeminy;
                _trendForward[p & _mask] = _trend;
                _irregularityForward[p & _mask] = m;
                _bigeminyForward[p & _mask] = bigeminy;
            }
        }
        else
        {
            _trend += _alpha * (r - _trend);
            _irregularityAverage += _alpha * (m - _irregularityAverage);
            _bigeminyAverage += _alpha * (bigeminy - _bigeminyAverage);
        }

        _trendForward[j & _mask] = _trend;
        _irregularityForward[j & _mask] = _irregularityAverage;
        _bigeminyForward[j & _mask] = _bigeminyAverage;
    }

    // Decides every interval k whose look-ahead is complete: k + L <= lastA, or all of them when flushing.
    private void Decide(long lastA, long newestInterval, List<AfBeat> beats, List<AfEpisodeEvent> events, bool flushing)
    {
        if (!_initialised)
        {
            return;
        }

        while (_nextB <= lastA && (flushing || _nextB + _lookAhead <= lastA))
        {
            var k = _nextB++;
            StageB(k, lastA, newestInterval);
            StageC(k, events);
            while (_nextOut <= k - _hold)
            {
                Emit(_nextOut++, beats);
            }
        }
    }

    private void StageB(long k, long lastA, long newestInterval)
    {
        // Backward exponential averaging from the forward value L intervals ahead: zero-phase smoothing with bounded delay.
        var end = Math.Min(k + _lookAhead, lastA);
        var trend = _trendForward[end & _mask];
        var irregularity = _irregularityForward[end & _mask];
        var bigeminy = _bigeminyForward[end & _mask];
        for (var p = end - 1; p >= k; p--)
        {
            trend += _alpha * (_trendForward[p & _mask] - trend);
            irregularity += _alpha * (_irregularityForward[p & _mask] - irregularity);
            bigeminy += _alpha * (_bigeminyForward[p & _mask] - bigeminy);
        }

        var statistic = bigeminy >= _delta ? irregularity / trend : bigeminy;
        var entropy = double.NaN;
        var decision = statistic > _eta;
        if (_useEntropy)
        {
            var start = k - (_w / 2);
            var stop = start + _w;
            if (stop > newestInterval + 1)
            {
                start -= stop - (newestInterval + 1);
                stop = newestInterval + 1;
            }

            start = Math.Max(0, start);
            var count = (int)(stop - start);
            for (var i = 0; i < count; i++)
            {
                _scratch[i] = _rr[(start + i) & _mask];
            }

            entropy = SampleEntropy.Cosen(_scratch.AsSpan(0, count), _entropyTolerance);
            decision &= entropy > _entropyThreshold;
        }

        // The unsmoothed irregularity, centred: M(k + N/2) covers intervals k − N/2 + 1 .. k + N/2.
        var centre = Math.Min(k + (_n / 2), lastA);
        _rawIrregular[k & _mask] = _irregularity[centre & _mask] / trend > _eta;
        _decision[k & _mask] = decision;
        _statistic[k & _mask] = statistic;
        _entropy[k & _mask] = entropy;
        _isAf[k & _mask] = false;
    }

    private void StageC(long k, List<AfEpisodeEvent> events)
    {
        var decision = _decision[k & _mask];
        if (!_inEpisode)
        {
            _run = decision ? _run + 1 : 0;
            if (_run < _minRun)
            {
                return;
            }

            var start = k - _minRun + 1;
            for (var p = start; p <= k; p++)
            {
                _isAf[p & _mask] = true;
            }

            // Move the onset back to the point that best splits the unsmoothed irregularity into regular before and
            // irregular after (the maximum of the running score +1 irregular / −1 regular), never into an earlier episode.
            var onset = start;
            var score = 0;
            var best = 0;
            for (var m = start - 1; m >= 0 && m >= _nextOut && start - m <= _refine && !_isAf[m & _mask]; m--)
            {
                score += _rawIrregular[m & _mask] ? 1 : -1;
                if (score > best)
                {
                    best = score;
                    onset = m;
                }
            }

            for (var p = onset; p < start; p++)
            {
                _isAf[p & _mask] = true;
            }

            _episodeStart = onset;
            _inEpisode = true;
            var beat = FirstBeatOf(_episodeStart);
            events.Add(new AfEpisodeEvent(AfEventKind.Onset, beat, _time[beat & _mask], _time[(_beats - 1) & _mask]));
            return;
        }

        if (decision)
        {
            _isAf[k & _mask] = true;
            return;
        }

        // The episode ended at k; move the offset back to the point that best splits the unsmoothed irregularity into
        // irregular before and regular after (maximum of the running score +1 regular / −1 irregular, counted backwards).
        var end = k;
        var trimScore = 0;
        var trimBest = 0;
        for (var p = k - 1; k - p <= _refine && p > _episodeStart; p--)
        {
            trimScore += _rawIrregular[p & _mask] ? -1 : 1;
            if (trimScore > trimBest)
            {
                trimBest = trimScore;
                end = p;
            }
        }

        for (var p = end; p < k; p++)
        {
            _isAf[p & _mask] = false;
        }

        _inEpisode = false;
        _run = 0;
        var offsetBeat = end + 1;
        events.Add(new AfEpisodeEvent(AfEventKind.Offset, offsetBeat, _time[offsetBeat & _mask], _time[(_beats - 1) & _mask]));
    }

    // The first beat flagged by interval k: beat k + 1, or beat 0 for the first interval.
    private static long FirstBeatOf(long interval) => interval == 0 ? 0 : interval + 1;

    private void Emit(long k, List<AfBeat> beats)
    {
        var i = k & _mask;
        if (k == 0)
        {
            beats.Add(new AfBeat(0, _time[0], _isAf[i], _statistic[i], _entropy[i]));
        }

        beats.Add(new AfBeat(k + 1, _time[(k + 1) & _mask], _isAf[i], _statistic[i], _entropy[i]));
    }

    private static double Median3(double a, double b, double c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
