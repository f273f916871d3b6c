using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;

namespace HeartTwin.Agent;

/// <summary>A beat waiting for the next analysis, with where its model input lies in its message's arrays.</summary>
internal sealed record PendingBeat(
    AcquiredBeat Beat, string DeviceId, long Sequence, DateTimeOffset SourceReceivedAt, string FeatureSpec,
    float[] Windows, int WindowOffset, int WindowLength, float[] RrFeatures, int RrOffset, int RrLength)
{
    /// <summary>The class the model gave, or null when classification failed.</summary>
    public string? Class { get; set; }

    /// <summary>The probability of <see cref="Class"/>.</summary>
    public double Confidence { get; set; }

    /// <summary>The model that classified it, name@version.</summary>
    public string? ModelId { get; set; }

    /// <summary>The class the model's decision gives it if it lies in AF, when that decision depends on the rhythm; else null.</summary>
    public string? ClassInAf { get; set; }

    /// <summary>Whether the model calls it premature ventricular ectopy, which the AF detector evens out.</summary>
    public bool VentricularEctopy { get; set; }

    /// <summary>The confidence that goes with <see cref="ClassInAf"/>.</summary>
    public double ConfidenceInAf { get; set; }

    /// <summary>What the model's morphology families need to finish this beat's decision; null for a model without them.</summary>
    public FamilyInput? Family { get; set; }

    /// <summary>
    /// Settles the class by the stream's rhythm at this beat (the decision may call an early beat S only outside AF), then,
    /// for a model with morphology families, votes the beat in its stream's families (<paramref name="familiesFor"/>), in
    /// stream order and with that AF state, as <c>BeatClassifier.Decide</c> does for a stream: a call against its family's
    /// majority takes the family's (a V call overruled becomes what the decision makes of an N call).
    /// </summary>
    public void SettleRhythm(bool inAf, Func<FamilyInput, MorphologyFamilies>? familiesFor = null)
    {
        if (ClassInAf is { } c)
        {
            if (inAf)
            {
                Class = c;
                Confidence = ConfidenceInAf;
            }

            ClassInAf = null;
        }

        if (Family is not { } f || familiesFor is null || Class is null)
        {
            return;
        }

        Family = null;
        var settings = f.Settings;
        int v = IndexOf(f.Labels, "V");
        if (v < 0 || (settings.Channel + 1) * settings.WindowSamples > WindowLength)
        {
            return;
        }

        // The call the families count: the network's, made N in AF below the model's V-in-AF probability.
        bool calledV = f.Likeliest == v && !(inAf && f.VentricularInAfMinProbability is { } min && f.Probabilities[v] < min);
        var verdict = familiesFor(f).Vote(Windows.AsSpan(WindowOffset + (settings.Channel * settings.WindowSamples), settings.WindowSamples), calledV);
        int decided = verdict == FamilyVerdict.Ventricular && Class != "V" ? v
            : verdict == FamilyVerdict.NotVentricular && calledV ? (inAf ? f.IfNormalInAf : f.IfNormal)
            : -1;
        if (decided >= 0)
        {
            Class = f.Labels[decided];
            Confidence = ConfidenceOf(f.Probabilities, decided, f.Likeliest);
        }
    }

    /// <summary>
    /// The confidence of a decided class: its probability when the network's likeliest, else that of the pair decided between
    /// (the network vouched for the pair, not for the decided label alone, whose own probability may be tiny).
    /// </summary>
    public static double ConfidenceOf(ReadOnlySpan<float> p, int decided, int likeliest) =>
        decided == likeliest ? p[decided] : Math.Min(1f, p[decided] + p[likeliest]);

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (int i = 0; i < labels.Count; i++)
        {
            if (labels[i] == label)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A beat's share of a <see cref="ClassifyBeatsResult"/> for its stream's morphology families.</summary>
/// <param name="ModelId">The model that answered, name@version: each model's calls go to its own families.</param>
/// <param name="Settings">The model's families.</param>
/// <param name="VentricularInAfMinProbability">Below it, a V call in AF counts as N; null for no such rule.</param>
/// <param name="Labels">The model's labels.</param>
/// <param name="Probabilities">The beat's probabilities.</param>
/// <param name="Likeliest">The network's call, an index into <paramref name="Labels"/>.</param>
/// <param name="IfNormal">The beat's class were its call N, outside AF.</param>
/// <param name="IfNormalInAf">The same in AF.</param>
internal sealed record FamilyInput(
    string ModelId, BeatFamilySettings Settings, double? VentricularInAfMinProbability, IReadOnlyList<string> Labels, float[] Probabilities, int Likeliest,
    int IfNormal, int IfNormalInAf)
{
    /// <summary>The signal code's rule for the settings Inference answered.</summary>
    public static BeatFamilyRule RuleOf(BeatFamilySettings s) => new(s.Channel, s.MinCorrelation, s.Templates, s.MinBeats, s.Majority);
}

/// <summary>
/// One patient's twin in memory. The bus handlers add to it under <see cref="Gate"/> (pending beats, device status, the
/// outbox); the scheduler takes those under the same lock and folds them in alone, so the analysis state needs no lock.
/// </summary>
internal sealed class PatientTwin(string patientId)
{
    private const int RememberedProposals = 512;
    private readonly HashSet<string> _proposed = new(StringComparer.Ordinal);
    private readonly Queue<string> _proposedOrder = new();

    public string PatientId { get; } = patientId;

    public Lock Gate { get; } = new();

    // Guarded by Gate.
    public List<PendingBeat> Pending { get; set; } = [];

    public Dictionary<string, DeviceStream> Devices { get; } = new(StringComparer.Ordinal);

    public List<ActionProposed> Outbox { get; } = [];

    public bool AnalysisRequested { get; set; }

    public bool StatusChanged { get; set; }

    /// <summary>The device whose stream the state shows: the last one that sent beats.</summary>
    public string? CurrentDeviceId { get; set; }

    // Scheduler only.
    public Dictionary<string, long> BeatCounts { get; } = new(StringComparer.Ordinal);

    public long AfFlaggedBeats { get; set; }

    public long AfBeats { get; set; }

    public string? ModelId { get; set; }

    public double? SignalQuality { get; set; }

    public long? LastSequence { get; set; }

    public DateTimeOffset? SignalTime { get; set; }

    public string? RestoredRhythm { get; set; }

    public DateTimeOffset NextWindowsPoll { get; set; }

    public DateTimeOffset? LatestWindowStart { get; set; }

    public TwinState? LastState { get; set; }

    /// <summary>The stream of a device, created on first sight. Call under <see cref="Gate"/>.</summary>
    public DeviceStream Device(string deviceId)
    {
        if (!Devices.TryGetValue(deviceId, out var stream))
        {
            Devices[deviceId] = stream = new DeviceStream(deviceId);
        }

        return stream;
    }

    /// <summary>Whether a proposal id is new (and remembers it): redelivered data must not propose twice.</summary>
    public bool TryRemember(string actionId)
    {
        if (!_proposed.Add(actionId))
        {
            return false;
        }

        _proposedOrder.Enqueue(actionId);
        if (_proposedOrder.Count > RememberedProposals)
        {
            _proposed.Remove(_proposedOrder.Dequeue());
        }

        return true;
    }
}
