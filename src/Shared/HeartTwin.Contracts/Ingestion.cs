namespace HeartTwin.Contracts;

/// <summary>How to turn one lead's integer samples into physical units: physical = (sample - Baseline) / Gain.</summary>
/// <param name="Name">Lead name as the device reports it (MLII, V1, I, II …).</param>
/// <param name="Gain">ADC units per physical unit (per millivolt for ECG), as in a WFDB header. Must be positive.</param>
/// <param name="Baseline">ADC value that corresponds to 0 physical units.</param>
/// <param name="Units">Physical unit, "mV" for ECG.</param>
public sealed record LeadInfo(string Name, double Gain, int Baseline, string Units = "mV");

/// <summary>
/// A batch of ECG samples from one device, accepted by the Connector (validated, authenticated, not a duplicate).
/// Samples are the device's integer ADC values, kept exactly (storage is lossless on these).
/// </summary>
/// <param name="DeviceId">The device that sent the batch.</param>
/// <param name="PatientId">The patient the device is bound to.</param>
/// <param name="Sequence">The device's batch sequence number: strictly increasing per device, starting at any value ≥ 0.</param>
/// <param name="StartTime">UTC time of the first sample in the batch.</param>
/// <param name="SampleRateHz">Samples per second per lead.</param>
/// <param name="Leads">One entry per lead, in the order of <paramref name="Samples"/>.</param>
/// <param name="Samples">One array per lead, all the same length: integer ADC values.</param>
/// <param name="ReceivedAt">UTC time the Connector accepted the batch (the start of the arrival-to-stored and arrival-to-alert latencies).</param>
/// <param name="Transport">How the batch arrived: "http" or "mqtt".</param>
public sealed record SamplesReceived(
    string DeviceId,
    string PatientId,
    long Sequence,
    DateTimeOffset StartTime,
    double SampleRateHz,
    IReadOnlyList<LeadInfo> Leads,
    int[][] Samples,
    DateTimeOffset ReceivedAt,
    string Transport) : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"{DeviceId}:{Sequence}";

    /// <summary>Samples per lead in this batch.</summary>
    public int SamplesPerLead => Samples.Length == 0 ? 0 : Samples[0].Length;
}

/// <summary>One numeric observation of a non-ECG vital sign.</summary>
/// <param name="Code">What was measured: one of <see cref="VitalCodes"/>.</param>
/// <param name="Value">The value, in <paramref name="Unit"/>.</param>
/// <param name="Unit">UCUM unit: "mm[Hg]", "%", "/min".</param>
/// <param name="Time">UTC time of the measurement.</param>
public sealed record VitalObservation(string Code, double Value, string Unit, DateTimeOffset Time);

/// <summary>The vital-sign codes the Connector accepts, with their UCUM units and LOINC codes for FHIR.</summary>
public static class VitalCodes
{
    /// <summary>Systolic blood pressure, mm[Hg], LOINC 8480-6.</summary>
    public const string SystolicPressure = "systolic";
    /// <summary>Diastolic blood pressure, mm[Hg], LOINC 8462-4.</summary>
    public const string DiastolicPressure = "diastolic";
    /// <summary>Mean arterial pressure, mm[Hg], LOINC 8478-0.</summary>
    public const string MeanPressure = "mean";
    /// <summary>Oxygen saturation, %, LOINC 59408-5.</summary>
    public const string SpO2 = "spo2";
    /// <summary>Pulse rate, /min, LOINC 8889-8.</summary>
    public const string PulseRate = "pulse";
    /// <summary>Device battery level, %.</summary>
    public const string Battery = "battery";

    /// <summary>Every accepted code with its UCUM unit and its plausible range (values outside are rejected as invalid).</summary>
    public static readonly IReadOnlyDictionary<string, (string Unit, double Min, double Max, string? Loinc)> All =
        new Dictionary<string, (string, double, double, string?)>(StringComparer.Ordinal)
        {
            [SystolicPressure] = ("mm[Hg]", 20, 300, "8480-6"),
            [DiastolicPressure] = ("mm[Hg]", 10, 250, "8462-4"),
            [MeanPressure] = ("mm[Hg]", 10, 250, "8478-0"),
            [SpO2] = ("%", 0, 100, "59408-5"),
            [PulseRate] = ("/min", 0, 350, "8889-8"),
            [Battery] = ("%", 0, 100, null),
        };
}

/// <summary>A batch of vital-sign observations from one device, accepted by the Connector.</summary>
/// <param name="DeviceId">The device that sent them.</param>
/// <param name="PatientId">The patient the device is bound to.</param>
/// <param name="Sequence">The device's sequence number (the same counter as sample batches).</param>
/// <param name="Observations">The observations.</param>
/// <param name="ReceivedAt">UTC time the Connector accepted the batch.</param>
public sealed record VitalsReceived(
    string DeviceId,
    string PatientId,
    long Sequence,
    IReadOnlyList<VitalObservation> Observations,
    DateTimeOffset ReceivedAt) : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"{DeviceId}:{Sequence}";
}

/// <summary>A device skipped sequence numbers: batches between <see cref="ExpectedSequence"/> and <see cref="ReceivedSequence"/> - 1 never arrived.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="ExpectedSequence">The next sequence the Connector expected.</param>
/// <param name="ReceivedSequence">The sequence that arrived instead.</param>
/// <param name="DetectedAt">UTC time of detection.</param>
public sealed record SequenceGapDetected(
    string DeviceId, string PatientId, long ExpectedSequence, long ReceivedSequence, DateTimeOffset DetectedAt)
    : IPatientMessage, IKeyedMessage
{
    /// <summary>How many batches are missing.</summary>
    public long MissingBatches => ReceivedSequence - ExpectedSequence;

    /// <inheritdoc />
    public string MessageKey => $"{DeviceId}:gap:{ExpectedSequence}";
}

/// <summary>A device was registered and bound to a patient.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Kind">Device kind, free text ("ecg-patch", "bedside-monitor", "bp-cuff").</param>
/// <param name="RegisteredAt">UTC time of registration.</param>
public sealed record DeviceRegistered(string DeviceId, string PatientId, string Kind, DateTimeOffset RegisteredAt) : IPatientMessage;

/// <summary>A device's connection state changed (MQTT connect/disconnect, or HTTP activity resumed after silence).</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Connected">Whether it is now connected.</param>
/// <param name="Time">UTC time of the change.</param>
/// <param name="Transport">"http" or "mqtt".</param>
public sealed record DeviceConnectionChanged(string DeviceId, string PatientId, bool Connected, DateTimeOffset Time, string Transport) : IPatientMessage;
