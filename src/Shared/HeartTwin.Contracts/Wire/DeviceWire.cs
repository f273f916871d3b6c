namespace HeartTwin.Contracts.Wire;

// What devices send and receive, over HTTP (POST /api/devices/{id}/samples, GET …/commands, POST …/acks)
// and MQTT (hearttwin/devices/{id}/samples | errors | commands | acks). JSON uses camelCase names.

/// <summary>
/// A device's batch, as JSON. It carries ECG <see cref="Samples"/> (with <see cref="Leads"/>, <see cref="SampleRateHz"/> and
/// <see cref="StartTime"/>), or vital-sign <see cref="Observations"/>, or both. Samples are integer ADC values.
/// </summary>
public sealed class SampleBatchDto
{
    /// <summary>Batch sequence number, strictly increasing per device.</summary>
    public long? Sequence { get; set; }
    /// <summary>UTC time of the first sample.</summary>
    public DateTimeOffset? StartTime { get; set; }
    /// <summary>Samples per second per lead.</summary>
    public double? SampleRateHz { get; set; }
    /// <summary>Lead descriptions, one per sample array.</summary>
    public List<LeadDto>? Leads { get; set; }
    /// <summary>One array of integer ADC values per lead.</summary>
    public List<List<int>>? Samples { get; set; }
    /// <summary>Vital-sign observations.</summary>
    public List<ObservationDto>? Observations { get; set; }
}

/// <summary>One lead of a JSON batch: physical = (sample - baseline) / gain, in units.</summary>
public sealed class LeadDto
{
    /// <summary>Lead name (MLII, V1 …).</summary>
    public string? Name { get; set; }
    /// <summary>ADC units per physical unit (per mV).</summary>
    public double? Gain { get; set; }
    /// <summary>ADC value of 0 physical units.</summary>
    public int? Baseline { get; set; }
    /// <summary>Physical unit; "mV" when absent.</summary>
    public string? Units { get; set; }
}

/// <summary>A vital-sign observation in a JSON batch.</summary>
public sealed class ObservationDto
{
    /// <summary>Code from <see cref="VitalCodes"/>.</summary>
    public string? Code { get; set; }
    /// <summary>Value in the code's unit.</summary>
    public double? Value { get; set; }
    /// <summary>UCUM unit; must match the code's unit when given.</summary>
    public string? Unit { get; set; }
    /// <summary>UTC time of measurement.</summary>
    public DateTimeOffset? Time { get; set; }
}

/// <summary>A command as a device receives it (MQTT …/commands, or HTTP GET …/commands).</summary>
/// <param name="CommandId">Id to acknowledge.</param>
/// <param name="Name">Command name (see <see cref="DeviceCommands"/>).</param>
/// <param name="Parameters">Parameters.</param>
/// <param name="IssuedAt">UTC issue time.</param>
public sealed record CommandDto(string CommandId, string Name, IReadOnlyDictionary<string, string> Parameters, DateTimeOffset IssuedAt);

/// <summary>A device's acknowledgement (MQTT …/acks, or HTTP POST …/acks).</summary>
public sealed class AckDto
{
    /// <summary>The command acknowledged.</summary>
    public string? CommandId { get; set; }
    /// <summary>"accepted", "rejected" or "failed".</summary>
    public string? Status { get; set; }
    /// <summary>Optional message.</summary>
    public string? Detail { get; set; }
}

/// <summary>What the Connector reports on MQTT …/errors when it drops a message.</summary>
/// <param name="Sequence">The rejected batch's sequence, if it could be read.</param>
/// <param name="Error">Machine-readable error code (same codes as the HTTP problem types).</param>
/// <param name="Detail">Human-readable detail.</param>
/// <param name="Time">UTC time.</param>
public sealed record DeviceErrorDto(long? Sequence, string Error, string Detail, DateTimeOffset Time);

/// <summary>What registering a device returns: its credentials. The secrets are shown once and stored only as hashes.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Token">Bearer token for HTTP ingestion.</param>
/// <param name="MqttUsername">MQTT username (the device id).</param>
/// <param name="MqttPassword">MQTT password.</param>
public sealed record DeviceCredentialsDto(string DeviceId, string PatientId, string Token, string MqttUsername, string MqttPassword);

/// <summary>Body of POST /api/devices.</summary>
public sealed class RegisterDeviceDto
{
    /// <summary>Device id: 1–64 characters of letters, digits, '-', '_' and '.'.</summary>
    public string? DeviceId { get; set; }
    /// <summary>Patient id, same character rules.</summary>
    public string? PatientId { get; set; }
    /// <summary>Device kind, free text.</summary>
    public string? Kind { get; set; }
}

/// <summary>MQTT topic names.</summary>
public static class DeviceTopics
{
    /// <summary>Prefix of every device topic.</summary>
    public const string Prefix = "hearttwin/devices/";
    /// <summary>Where a device publishes sample (and vitals) batches.</summary>
    public static string Samples(string deviceId) => $"{Prefix}{deviceId}/samples";
    /// <summary>Where the Connector reports dropped messages.</summary>
    public static string Errors(string deviceId) => $"{Prefix}{deviceId}/errors";
    /// <summary>Where the Connector sends commands.</summary>
    public static string Commands(string deviceId) => $"{Prefix}{deviceId}/commands";
    /// <summary>Where the device acknowledges commands.</summary>
    public static string Acks(string deviceId) => $"{Prefix}{deviceId}/acks";
}
