using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Connector;

/// <summary>Options of the <c>Connector</c> configuration section.</summary>
public sealed class ConnectorOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Connector";

    /// <summary>Folder of the device registry (<c>connector.db</c>, SQLite in WAL mode).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>TCP port of the embedded MQTT broker; 0 disables MQTT.</summary>
    [Range(0, 65535)]
    public int MqttPort { get; set; } = 1883;

    /// <summary>Address the MQTT broker listens on.</summary>
    [Required]
    public string MqttAddress { get; set; } = "0.0.0.0";

    /// <summary>Largest batch body (HTTP) or payload (MQTT) accepted, in bytes.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Lowest sampling rate accepted, in Hz.</summary>
    [Range(1, 100_000)]
    public double MinSampleRateHz { get; set; } = 50;

    /// <summary>Highest sampling rate accepted, in Hz.</summary>
    [Range(1, 100_000)]
    public double MaxSampleRateHz { get; set; } = 2000;

    /// <summary>Longest batch accepted, in seconds of signal.</summary>
    [Range(0.1, 3600)]
    public double MaxBatchSeconds { get; set; } = 60;

    /// <summary>Largest |physical value| accepted for an ECG sample, in millivolts.</summary>
    [Range(0.1, 1_000_000)]
    public double MaxAbsMillivolts { get; set; } = 50;

    /// <summary>How far in the future a batch's start time may lie (device clocks drift), in seconds.</summary>
    [Range(0, 86_400)]
    public int MaxClockSkewSeconds { get; set; } = 300;

    /// <summary>How long ingestion waits for the bus (Storage committing) before answering 503 / dropping the MQTT connection, in seconds.</summary>
    [Range(0.01, 600)]
    public double AckTimeoutSeconds { get; set; } = 10;

    /// <summary>The Retry-After an overloaded HTTP device is given, in seconds.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>Commands kept pending per device for HTTP pull (the oldest is dropped beyond this).</summary>
    [Range(1, 10_000)]
    public int MaxPendingCommands { get; set; } = 100;

    /// <summary>An HTTP device that sends after this much silence is reported connected again, in seconds.</summary>
    [Range(1, 86_400)]
    public int HttpSilenceSeconds { get; set; } = 60;
}
