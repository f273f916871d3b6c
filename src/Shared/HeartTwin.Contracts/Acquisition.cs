namespace HeartTwin.Contracts;

/// <summary>One beat the Acquisition block detected.</summary>
/// <param name="Time">UTC time of the fiducial point (R peak) of the beat.</param>
/// <param name="RrMs">Interval from the previous beat in milliseconds; 0 for the first beat of a stream.</param>
/// <param name="Lead">The lead the beat window was cut from.</param>
public sealed record AcquiredBeat(DateTimeOffset Time, double RrMs, string Lead);

/// <summary>
/// Beats that became complete while processing one sample batch, with the model inputs for each
/// (cut exactly as <c>HeartTwin.Signals.Beats.BeatFeatureExtractor</c> cuts them for training).
/// </summary>
/// <param name="PatientId">The patient.</param>
/// <param name="DeviceId">The device stream the beats come from.</param>
/// <param name="Sequence">Sequence of the sample batch whose processing completed these beats (idempotency key with the device).</param>
/// <param name="SourceReceivedAt">When the Connector accepted that batch (start of the arrival-to-alert latency).</param>
/// <param name="FeatureSpec">Name of the input specification the windows follow, e.g. "beat-window-v1".</param>
/// <param name="Beats">The beats, in time order.</param>
/// <param name="Windows">Model input windows, flattened as [beat][channel][sample] (Beats.Count × channels × window length).</param>
/// <param name="RrFeatures">RR features, flattened as [beat][feature] (Beats.Count × feature count).</param>
public sealed record BeatsAcquired(
    string PatientId,
    string DeviceId,
    long Sequence,
    DateTimeOffset SourceReceivedAt,
    string FeatureSpec,
    IReadOnlyList<AcquiredBeat> Beats,
    float[] Windows,
    float[] RrFeatures) : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"{DeviceId}:{Sequence}";
}

/// <summary>A window of a device stream (default 10 s) was processed: its quality and its beats are known.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="DeviceId">The device stream.</param>
/// <param name="WindowSequence">Index of the window in the stream (0, 1, 2 …); with the device, the idempotency key.</param>
/// <param name="Start">UTC start of the window.</param>
/// <param name="End">UTC end of the window (exclusive).</param>
/// <param name="DeviceSampleRateHz">The device's sampling rate.</param>
/// <param name="ProcessedSampleRateHz">The rate the stream was resampled to (the model's rate).</param>
/// <param name="Leads">Lead names of the stream.</param>
/// <param name="Quality">Signal-quality index 0 (unusable) … 1 (clean) of the window, the worst usable lead's … best lead's figure as documented by the Acquisition block.</param>
/// <param name="QualityCategory">"good", "acceptable" or "unusable".</param>
/// <param name="QualityIssues">Issue names found in the window (e.g. "flatline", "saturation", "noise"); empty if none.</param>
/// <param name="BeatCount">Beats detected in the window.</param>
/// <param name="HeartRateBpm">Mean heart rate over the window from its RR intervals; null when fewer than two beats.</param>
/// <param name="RrMs">RR intervals ending in the window, in milliseconds.</param>
/// <param name="SourceReceivedAt">When the Connector accepted the batch that completed the window.</param>
public sealed record WindowAcquired(
    string PatientId,
    string DeviceId,
    long WindowSequence,
    DateTimeOffset Start,
    DateTimeOffset End,
    double DeviceSampleRateHz,
    double ProcessedSampleRateHz,
    IReadOnlyList<string> Leads,
    double Quality,
    string QualityCategory,
    IReadOnlyList<string> QualityIssues,
    int BeatCount,
    double? HeartRateBpm,
    double[] RrMs,
    DateTimeOffset SourceReceivedAt) : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"{DeviceId}:w{WindowSequence}";
}
