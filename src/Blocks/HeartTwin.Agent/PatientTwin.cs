using HeartTwin.Contracts;

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

    /// <summary>Settles the class by the stream's rhythm at this beat (the decision may call an early beat S only outside AF).</summary>
    public void SettleRhythm(bool inAf)
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
    }
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
