namespace HeartTwin.Contracts;

/// <summary>The AAMI EC57 beat classes, in the order models and confusion matrices use.</summary>
public static class BeatClasses
{
    /// <summary>Normal and bundle-branch-block beats.</summary>
    public const string N = "N";
    /// <summary>Supraventricular ectopic beats.</summary>
    public const string S = "S";
    /// <summary>Ventricular ectopic beats.</summary>
    public const string V = "V";
    /// <summary>Fusion of ventricular and normal beats.</summary>
    public const string F = "F";
    /// <summary>Unclassifiable (and paced) beats.</summary>
    public const string Q = "Q";
    /// <summary>All classes in order.</summary>
    public static readonly IReadOnlyList<string> All = [N, S, V, F, Q];
}

/// <summary>Rhythm labels of the twin.</summary>
public static class RhythmLabels
{
    /// <summary>Not enough data yet.</summary>
    public const string Unknown = "unknown";
    /// <summary>Regular rhythm (sinus or otherwise not AF).</summary>
    public const string Regular = "regular";
    /// <summary>Atrial fibrillation.</summary>
    public const string AtrialFibrillation = "AF";
}

/// <summary>Ask the Agent to analyse a patient now, outside its schedule.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="RequestedBy">Who asked (user or system id), for the record.</param>
public sealed record AnalysisRequested(string PatientId, string RequestedBy) : IPatientMessage;

/// <summary>Classify a batch of beat windows (request to the Inference block; answered with <see cref="ClassifyBeatsResult"/>).</summary>
/// <param name="FeatureSpec">Input specification the windows follow; the model must accept it.</param>
/// <param name="BeatCount">Number of beats.</param>
/// <param name="Windows">Flattened [beat][channel][sample].</param>
/// <param name="RrFeatures">Flattened [beat][feature].</param>
/// <param name="Model">Model name or name@version; null for the registry's default.</param>
/// <param name="InAf">Per beat, whether it lies in an atrial fibrillation episode, as the sender's AF detector judged; null when
/// unknown. A model whose decision depends on the rhythm (AF beats are never premature supraventricular beats) needs it.</param>
public sealed record ClassifyBeatsRequest(string FeatureSpec, int BeatCount, float[] Windows, float[] RrFeatures, string? Model = null, bool[]? InAf = null);

/// <summary>Class probabilities for each beat of a <see cref="ClassifyBeatsRequest"/>.</summary>
/// <param name="ModelId">The model that produced them, name@version.</param>
/// <param name="Labels">Class labels in probability order.</param>
/// <param name="Probabilities">Flattened [beat][class].</param>
/// <param name="Classes">Per beat, its class as an index into <paramref name="Labels"/>, after the model's decision rule (which
/// may differ from the most probable label), with the request's AF flags or, without them, as if outside AF; null from senders
/// that predate it, and then the most probable label is the class.</param>
/// <param name="ClassesInAf">Per beat, its class were it in AF, when the model's decision depends on the rhythm (else null): a
/// caller that learns the rhythm beat by beat, after classifying, picks between the two.</param>
/// <param name="VentricularEctopy">Per beat, whether it is premature ventricular ectopy (the network's likeliest class is V and the
/// beat is early), which an AF detector evens out so that ectopy does not read as AF; null from senders that predate it.</param>
/// <param name="ClassesIfNormal">Per beat, its class were the network's call N (with the request's AF flags or, without them,
/// as if outside AF), when the model's decision lets a patient's morphology families overrule a V call (beat-cnn 2.4.0);
/// else null.</param>
/// <param name="ClassesIfNormalInAf">The same, were the beat in AF.</param>
/// <param name="Families">The model's morphology families, which the caller keeps per stream and votes each beat in, in
/// order (<c>MorphologyFamilies</c> in HeartTwin.Signals); null for a model without them.</param>
/// <param name="VentricularInAfMinProbability">A beat in AF called V below this V probability counts as an N call, for the
/// families too; null for a model without that rule.</param>
public sealed record ClassifyBeatsResult(
    string ModelId, IReadOnlyList<string> Labels, float[] Probabilities, int[]? Classes = null, int[]? ClassesInAf = null, bool[]? VentricularEctopy = null,
    int[]? ClassesIfNormal = null, int[]? ClassesIfNormalInAf = null, BeatFamilySettings? Families = null, double? VentricularInAfMinProbability = null);

/// <summary>A beat model's morphology families (its card's <c>decision.families</c>), for the caller that keeps them per stream.</summary>
/// <param name="Channel">The window channel compared.</param>
/// <param name="WindowSamples">Samples per channel of a window.</param>
/// <param name="MinCorrelation">A beat joins its best family at this correlation or more.</param>
/// <param name="Templates">Families kept per stream.</param>
/// <param name="MinBeats">Beats a family needs before it votes.</param>
/// <param name="Majority">The share of a family's calls (more than this) that overrules a beat's own call.</param>
public sealed record BeatFamilySettings(int Channel, int WindowSamples, double MinCorrelation, int Templates, int MinBeats, double Majority);

/// <summary>A beat with the class the model gave it.</summary>
/// <param name="Time">UTC time of the beat's R peak.</param>
/// <param name="Class">AAMI class label.</param>
/// <param name="Confidence">Probability of that class, 0–1.</param>
public sealed record ClassifiedBeat(DateTimeOffset Time, string Class, double Confidence);

/// <summary>The twin's view of a patient's heart at one moment.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="UpdatedAt">UTC time the state was computed.</param>
/// <param name="SignalTime">UTC time of the latest signal the state covers.</param>
/// <param name="HeartRateBpm">Averaged heart rate (over the last window of beats); null when unknown.</param>
/// <param name="InstantHeartRateBpm">Heart rate from the last RR interval; null when unknown.</param>
/// <param name="SdnnMs">HRV: SDNN over the last five minutes of normal-to-normal intervals; null when too few.</param>
/// <param name="RmssdMs">HRV: RMSSD over the same span; null when too few.</param>
/// <param name="Pnn50Percent">HRV: pNN50 (0–100) over the same span; null when too few.</param>
/// <param name="Rhythm">One of <see cref="RhythmLabels"/>.</param>
/// <param name="BeatCounts">Beats per AAMI class since the twin started.</param>
/// <param name="AfBurdenPercent">Share of analysed beats in AF (0–100).</param>
/// <param name="SignalQuality">Latest window's quality index 0–1; null before the first window.</param>
/// <param name="ModelId">The model that classified the beats, name@version.</param>
/// <param name="DeviceId">The device currently feeding the twin.</param>
/// <param name="DeviceConnected">Whether that device is connected (or has sent data recently).</param>
/// <param name="LastSequence">The last sample batch sequence that the analysis covers.</param>
public sealed record TwinState(
    string PatientId,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? SignalTime,
    double? HeartRateBpm,
    double? InstantHeartRateBpm,
    double? SdnnMs,
    double? RmssdMs,
    double? Pnn50Percent,
    string Rhythm,
    IReadOnlyDictionary<string, long> BeatCounts,
    double AfBurdenPercent,
    double? SignalQuality,
    string? ModelId,
    string? DeviceId,
    bool DeviceConnected,
    long? LastSequence);

/// <summary>The Agent analysed new data for a patient.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="State">The twin state after the analysis.</param>
/// <param name="Beats">Beats classified in this analysis.</param>
/// <param name="DeviceId">The device stream the beats belong to.</param>
public sealed record AnalysisCompleted(string PatientId, TwinState State, IReadOnlyList<ClassifiedBeat> Beats, string? DeviceId) : IPatientMessage;
