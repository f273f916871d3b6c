using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Agent;

/// <summary>Something the analysis found, before it becomes an <see cref="ActionProposed"/>.</summary>
/// <param name="EventType">One of <see cref="EventTypes"/>.</param>
/// <param name="DeviceId">The device stream.</param>
/// <param name="Key">What makes it unique within the device and event type (a signal time, a sequence): the action id derives from it.</param>
/// <param name="Severity">"info", "warning" or "critical".</param>
/// <param name="Reason">Words a clinician reads.</param>
/// <param name="OccurredAt">Signal time of the event.</param>
/// <param name="SourceReceivedAt">When the data that revealed it arrived.</param>
/// <param name="Details">Supporting figures.</param>
internal sealed record Detection(
    string EventType, string DeviceId, string Key, string Severity, string Reason,
    DateTimeOffset OccurredAt, DateTimeOffset SourceReceivedAt, Dictionary<string, string> Details);

/// <summary>
/// The analysis state of one device's beat stream: the streaming AF detector, the ventricular-run counter, the heart-rate
/// averager with its alarm states, the HRV span, and the window-quality run. Folded by the scheduler only, except the
/// fields marked as guarded by the twin's lock.
/// </summary>
internal sealed class DeviceStream(string deviceId)
{
    private readonly Dictionary<string, (BeatFamilySettings Settings, MorphologyFamilies Families)> _families = new(StringComparer.Ordinal);

    private readonly List<AfBeat> _afBeats = [];
    private readonly List<AfEpisodeEvent> _afEvents = [];
    private readonly LinkedList<(DateTimeOffset Time, double RrMs)> _rateSpan = new();
    private readonly Queue<(DateTimeOffset Time, double RrMs, bool Normal)> _hrvSpan = new();
    private double[] _hrvRr = new double[512];
    private bool[] _hrvNormal = new bool[512];
    private AfDetector? _af;
    private DateTimeOffset _afEpoch;
    private DateTimeOffset _afSource;
    private double _rateSum;
    private int _rateCount;
    private int _vRun;
    private DateTimeOffset _vRunStart;
    private double _vRunRrSum;
    private DateTimeOffset? _highSince;
    private DateTimeOffset? _lowSince;
    private bool _highActive;
    private bool _lowActive;
    private DateTimeOffset? _unusableSince;
    private long _unusableFirstWindow;
    private bool _signalLostProposed;
    private DateTimeOffset? _lastFoldedBeat;

    public string DeviceId { get; } = deviceId;

    // Guarded by the twin's lock (the bus handlers write them).

    /// <summary>Beats at or before this signal time are redeliveries (or covered before a restart) and are dropped.</summary>
    public DateTimeOffset? AcceptedUpTo { get; set; }

    /// <summary>When the Agent last received data from the device (its own clock), or null if it never streamed.</summary>
    public DateTimeOffset? LastDataAt { get; set; }

    /// <summary>Whether the device is connected (connection events) or streaming.</summary>
    public bool Connected { get; set; } = true;

    /// <summary>Whether device-silent was proposed for the current silence.</summary>
    public bool SilentProposed { get; set; }

    // Scheduler only.

    /// <summary>Whether an AF episode is in progress on this stream (kept across detector restarts).</summary>
    public bool AfActive { get; set; }

    public long LastWindowSequence { get; set; } = -1;

    public double? AverageHeartRateBpm => _rateCount > 0 ? 60000.0 / (_rateSum / _rateCount) : null;

    public double? InstantHeartRateBpm { get; private set; }

    public string Rhythm => AfActive ? RhythmLabels.AtrialFibrillation
        : _af is { BeatCount: >= 16 } ? RhythmLabels.Regular : RhythmLabels.Unknown;

    /// <summary>
    /// This stream's morphology families for the model that classified a beat (beat-cnn 2.4.0), one set per model, made on
    /// first use and afresh when that model's settings change: two models never count each other's calls, and replicas of
    /// different models during a rolling deploy do not reset each other's families. They live in the Agent, which is
    /// partitioned by patient, so one place sees a stream's beats in order; after a restart they are learnt again (a family
    /// votes from its 8th beat).
    /// </summary>
    public MorphologyFamilies FamiliesFor(FamilyInput beat)
    {
        if (!_families.TryGetValue(beat.ModelId, out var kept) || kept.Settings != beat.Settings)
        {
            kept = (beat.Settings, new MorphologyFamilies(FamilyInput.RuleOf(beat.Settings), beat.Settings.WindowSamples));
            _families[beat.ModelId] = kept;
        }

        return kept.Families;
    }

    /// <summary>Folds one beat, classified or not (class null), appending what it reveals.</summary>
    public void Fold(PendingBeat pending, AgentOptions options, PatientTwin twin, List<Detection> found)
    {
        var beat = pending.Beat;
        var time = beat.Time;
        bool physiological = HeartRate.IsPhysiological(beat.RrMs);
        bool newStream = beat.RrMs <= 0 || _lastFoldedBeat is null || (time - _lastFoldedBeat.Value).TotalMilliseconds > HeartRate.MaxPhysiologicalRrMs;
        _lastFoldedBeat = time;

        FoldRhythm(pending, newStream, twin, found);
        // The AF state after this beat (an episode counts from its confirmation on): folded beat by beat, it does not depend
        // on how beats were batched for classification, so every replica and a restart settle a beat alike.
        pending.SettleRhythm(AfActive, FamiliesFor);
        FoldVentricular(pending, physiological, options, found);
        if (newStream)
        {
            // A gap in the stream: intervals across it say nothing about the rate.
            _rateSpan.Clear();
            _rateSum = 0;
            _rateCount = 0;
        }

        InstantHeartRateBpm = physiological ? 60000.0 / beat.RrMs : InstantHeartRateBpm;
        if (physiological)
        {
            // Artefact correction for the averaged rate (as monitors and HRV tools do): an interval under half the span's mean
            // whose sum with the previous interval is within 20% of that mean means the beat between them was a false
            // detection (noise). The two intervals count as one, so one spurious beat does not raise a 10 s average by 10%.
            // A premature ectopic beat is left alone: its coupling interval is rarely under half the cycle, and it is followed
            // by a long pause rather than a short one.
            double mean = _rateCount > 0 ? _rateSum / _rateCount : 0;
            if (mean > 0 && _rateSpan.Last is { } previous && beat.RrMs < 0.5 * mean
                && Math.Abs(previous.Value.RrMs + beat.RrMs - mean) <= 0.2 * mean)
            {
                _rateSum += beat.RrMs;
                previous.Value = (time, previous.Value.RrMs + beat.RrMs);
            }
            else
            {
                _rateSpan.AddLast((time, beat.RrMs));
                _rateSum += beat.RrMs;
                _rateCount++;
            }
        }

        var rateFrom = time - TimeSpan.FromSeconds(options.HeartRateAverageSeconds);
        while (_rateSpan.First is { } oldest && oldest.Value.Time <= rateFrom)
        {
            _rateSum -= oldest.Value.RrMs;
            _rateSpan.RemoveFirst();
            _rateCount--;
        }

        FoldRateBounds(pending, options, found);

        _hrvSpan.Enqueue((time, beat.RrMs, pending.Class == BeatClasses.N));
        var hrvFrom = time - TimeSpan.FromSeconds(options.HrvWindowSeconds);
        while (_hrvSpan.Count > 0 && _hrvSpan.Peek().Time <= hrvFrom)
        {
            _hrvSpan.Dequeue();
        }
    }

    /// <summary>HRV over the span of normal-to-normal intervals (the first beat of the span has no interval inside it).</summary>
    public HrvMetrics Hrv()
    {
        int beats = _hrvSpan.Count;
        if (beats < 2)
        {
            return Signals.Rhythm.Hrv.Compute([]);
        }

        if (_hrvRr.Length < beats)
        {
            _hrvRr = new double[beats * 2];
            _hrvNormal = new bool[beats * 2];
        }

        int i = 0;
        foreach (var (_, rr, normal) in _hrvSpan)
        {
            if (i > 0)
            {
                _hrvRr[i - 1] = rr;
            }

            _hrvNormal[i++] = normal;
        }

        return Signals.Rhythm.Hrv.Compute(_hrvRr.AsSpan(0, beats - 1), _hrvNormal.AsSpan(0, beats));
    }

    /// <summary>Folds a window from Storage (in sequence order): quality, and a run of unusable windows.</summary>
    public void FoldWindow(WindowAcquired window, AgentOptions options, List<Detection> found)
    {
        LastWindowSequence = window.WindowSequence;
        if (!string.Equals(window.QualityCategory, "unusable", StringComparison.OrdinalIgnoreCase))
        {
            _unusableSince = null;
            _signalLostProposed = false;
            return;
        }

        if (_unusableSince is null)
        {
            _unusableSince = window.Start;
            _unusableFirstWindow = window.WindowSequence;
        }

        var lost = window.End - _unusableSince.Value;
        if (!_signalLostProposed && lost.TotalSeconds >= options.SignalLostSeconds)
        {
            _signalLostProposed = true;
            var issues = window.QualityIssues.Count > 0 ? string.Join(", ", window.QualityIssues) : "no usable signal";
            found.Add(new Detection(EventTypes.SignalLost, DeviceId, Inv($"w{_unusableFirstWindow}"), "warning",
                Inv($"ECG signal unusable for {lost.TotalSeconds:0} s since {Clock(_unusableSince.Value)} ({issues}): leads may be off."),
                _unusableSince.Value, window.SourceReceivedAt, new(StringComparer.Ordinal)
                {
                    ["unusableSeconds"] = Inv($"{lost.TotalSeconds:0.#}"),
                    ["quality"] = Inv($"{window.Quality:0.##}"),
                    ["issues"] = issues,
                    ["firstWindowSequence"] = Inv($"{_unusableFirstWindow}"),
                }));
        }
    }

    private void FoldRhythm(PendingBeat pending, bool newStream, PatientTwin twin, List<Detection> found)
    {
        var time = pending.Beat.Time;
        if (_af is null || newStream)
        {
            // The detector's trend would take minutes to forget an interval across a gap; start a fresh one instead.
            // AfActive survives, so an episode that goes on is not proposed again, and one that ended is closed below.
            _af = new AfDetector();
            _afEpoch = time;
        }

        _afSource = pending.SourceReceivedAt;
        _afBeats.Clear();
        _afEvents.Clear();
        // Premature V beats are evened out: couplets and trigeminy are not irregular atrial rhythm.
        _af.AddBeat((time - _afEpoch).TotalSeconds, pending.VentricularEctopy, _afBeats, _afEvents);
        foreach (var b in _afBeats)
        {
            twin.AfFlaggedBeats++;
            if (b.IsAf)
            {
                twin.AfBeats++;
            }
            else if (AfActive && !_af.InEpisode && !double.IsNaN(b.Statistic))
            {
                // A restarted detector judged a beat regular while the episode from before the restart was open.
                AfActive = false;
                found.Add(AfOffset(_afEpoch + TimeSpan.FromSeconds(b.TimeSeconds)));
            }
        }

        foreach (var e in _afEvents)
        {
            var at = _afEpoch + TimeSpan.FromSeconds(e.TimeSeconds);
            if (e.Kind == AfEventKind.Onset && !AfActive)
            {
                AfActive = true;
                found.Add(new Detection(EventTypes.AfOnset, DeviceId, Inv($"{at.UtcTicks}"), "warning",
                    Inv($"Atrial fibrillation began at {Clock(at)}: irregularly irregular RR intervals."),
                    at, _afSource, new(StringComparer.Ordinal)
                    {
                        ["onsetAt"] = at.ToString("O", CultureInfo.InvariantCulture),
                        ["detectionDelaySeconds"] = Inv($"{e.DetectedAtSeconds - e.TimeSeconds:0.#}"),
                    }));
            }
            else if (e.Kind == AfEventKind.Offset && AfActive)
            {
                AfActive = false;
                found.Add(AfOffset(at));
            }
        }
    }

    private Detection AfOffset(DateTimeOffset at) => new(EventTypes.AfOffset, DeviceId, Inv($"{at.UtcTicks}"), "info",
        Inv($"Atrial fibrillation ended at {Clock(at)}."), at, _afSource,
        new(StringComparer.Ordinal) { ["offsetAt"] = at.ToString("O", CultureInfo.InvariantCulture) });

    private void FoldVentricular(PendingBeat pending, bool physiological, AgentOptions options, List<Detection> found)
    {
        if (pending.Class != BeatClasses.V)
        {
            _vRun = 0;
            return;
        }

        if (_vRun == 0)
        {
            _vRunStart = pending.Beat.Time;
            _vRunRrSum = 0;
        }
        else if (physiological)
        {
            _vRunRrSum += pending.Beat.RrMs;
        }

        _vRun++;
        if (_vRun != options.VentricularRunBeats)
        {
            return;
        }

        // One proposal per run, as soon as it is long enough (it may go on; the alert should not wait for its end).
        double rateBpm = _vRunRrSum > 0 ? 60000.0 * (_vRun - 1) / _vRunRrSum : double.NaN;
        bool tachycardia = rateBpm >= 100;
        found.Add(new Detection(EventTypes.VentricularRun, DeviceId, Inv($"{_vRunStart.UtcTicks}"), tachycardia ? "critical" : "warning",
            Inv($"{_vRun} ventricular beats in a row at {Clock(_vRunStart)}") + (double.IsNaN(rateBpm) ? "." : Inv($", at about {rateBpm:0} bpm{(tachycardia ? " (non-sustained ventricular tachycardia)" : "")}.")),
            _vRunStart, pending.SourceReceivedAt, new(StringComparer.Ordinal)
            {
                ["beats"] = Inv($"{_vRun}"),
                ["rateBpm"] = double.IsNaN(rateBpm) ? "" : Inv($"{rateBpm:0}"),
                ["startAt"] = _vRunStart.ToString("O", CultureInfo.InvariantCulture),
                ["confidence"] = Inv($"{pending.Confidence:0.##}"),
            }));
    }

    private void FoldRateBounds(PendingBeat pending, AgentOptions options, List<Detection> found)
    {
        if (AverageHeartRateBpm is not double rate || _rateCount < 2)
        {
            return;
        }

        var time = pending.Beat.Time;
        var sustain = TimeSpan.FromSeconds(options.HeartRateSustainSeconds);
        Bound(rate > options.HeartRateHighBpm, rate < options.HeartRateHighBpm - options.HeartRateHysteresisBpm,
            ref _highSince, ref _highActive, EventTypes.HeartRateHigh, "above", options.HeartRateHighBpm);
        Bound(rate < options.HeartRateLowBpm, rate > options.HeartRateLowBpm + options.HeartRateHysteresisBpm,
            ref _lowSince, ref _lowActive, EventTypes.HeartRateLow, "below", options.HeartRateLowBpm);

        void Bound(bool beyond, bool rearm, ref DateTimeOffset? since, ref bool active, string eventType, string word, double bound)
        {
            if (!beyond)
            {
                since = null;
                active &= !rearm;
                return;
            }

            since ??= time;
            if (active || time - since.Value < sustain)
            {
                return;
            }

            active = true;
            var lasted = time - since.Value;
            found.Add(new Detection(eventType, DeviceId, Inv($"{since.Value.UtcTicks}"), "warning",
                Inv($"Heart rate {rate:0} bpm, {word} the {bound:0} bpm limit for {lasted.TotalSeconds:0} s since {Clock(since.Value)}."),
                since.Value, pending.SourceReceivedAt, new(StringComparer.Ordinal)
                {
                    ["heartRateBpm"] = Inv($"{rate:0.#}"),
                    ["limitBpm"] = Inv($"{bound:0.#}"),
                    ["sustainedSeconds"] = Inv($"{lasted.TotalSeconds:0.#}"),
                    ["averagedOverSeconds"] = Inv($"{options.HeartRateAverageSeconds:0.#}"),
                }));
        }
    }

    private static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm:ss' UTC'", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
