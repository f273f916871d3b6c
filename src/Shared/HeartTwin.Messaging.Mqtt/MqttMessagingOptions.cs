using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>
/// Options of the <c>Messaging:Mqtt</c> section: where the broker is, who this process is (service and replica), and how
/// patients are partitioned. Every service of one deployment must use the same <see cref="Partitions"/>.
/// </summary>
public sealed class MqttMessagingOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Messaging:Mqtt";

    /// <summary>Broker host name or address.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Broker TCP port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    /// <summary>Prefix of the MQTT client id; the id is <c>{prefix}{ServiceName}-{ReplicaIndex}</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.-]*$")]
    public string ClientIdPrefix { get; set; } = "hearttwin-";

    /// <summary>Broker user name, or null for anonymous.</summary>
    public string? Username { get; set; }

    /// <summary>Broker password (from a secret, never from the repository).</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Partitions per message type (topic <c>hearttwin/bus/{type}/{partition}</c>). A patient always maps to one partition,
    /// so this bounds how many replicas a block can usefully run. The same for every service of a deployment.
    /// </summary>
    [Range(1, 4096)]
    public int Partitions { get; set; } = 16;

    /// <summary>The consumer group: the block's name (Storage, Agent …). Replicas of one block share it.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.-]+$")]
    public string ServiceName { get; set; } = "hearttwin";

    /// <summary>This replica's index in 0 … <see cref="ReplicaCount"/>-1 (a StatefulSet ordinal). It owns partitions p with p mod ReplicaCount = ReplicaIndex.</summary>
    [Range(0, 4095)]
    public int ReplicaIndex { get; set; }

    /// <summary>How many replicas of this block run.</summary>
    [Range(1, 4096)]
    public int ReplicaCount { get; set; } = 1;

    /// <summary>Keep the MQTT session (subscriptions and unacknowledged QoS 1 messages) while this replica is away.</summary>
    public bool PersistentSession { get; set; } = true;

    /// <summary>How long the broker keeps a persistent session of a replica that is gone, in seconds (default 7 days).</summary>
    [Range(0, uint.MaxValue)]
    public long SessionExpirySeconds { get; set; } = 7 * 24 * 3600;

    /// <summary>MQTT keep-alive, in seconds.</summary>
    [Range(1, 65535)]
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary>Timeout of one MQTT operation (connect, PUBACK, SUBACK), in milliseconds.</summary>
    [Range(100, 600_000)]
    public int OperationTimeoutMs { get; set; } = 10_000;

    /// <summary>First reconnect delay in milliseconds (doubles up to <see cref="ReconnectMaxDelayMs"/>).</summary>
    [Range(10, 600_000)]
    public int ReconnectMinDelayMs { get; set; } = 200;

    /// <summary>Longest reconnect delay, in milliseconds.</summary>
    [Range(10, 600_000)]
    public int ReconnectMaxDelayMs { get; set; } = 10_000;

    /// <summary>How long a publish may wait for the broker (reconnecting, then its PUBACK) before it fails, in milliseconds.</summary>
    [Range(100, 3_600_000)]
    public int PublishTimeoutMs { get; set; } = 30_000;

    /// <summary>How long a request waits for its answer, in milliseconds.</summary>
    [Range(100, 3_600_000)]
    public int RequestTimeoutMs { get; set; } = 30_000;

    /// <summary>How long host start waits for the first connection before it goes on (and keeps reconnecting), in milliseconds.</summary>
    [Range(0, 600_000)]
    public int StartTimeoutMs { get; set; } = 15_000;

    /// <summary>
    /// QoS 1 messages the broker may have in flight to this client before it waits for acknowledgements (MQTT 5 Receive Maximum).
    /// A message is acknowledged only once handled, so this is also the local backlog this process holds at most.
    /// </summary>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 256;

    /// <summary>Requests this process answers at once.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentRequests { get; set; } = 16;

    /// <summary>
    /// Requests that may wait for a free answering slot; beyond them a request is refused at once with an "overloaded"
    /// error, so its requester learns it instead of timing out.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxWaitingRequests { get; set; } = 4096;

    /// <summary>The MQTT client id of this replica.</summary>
    public string ClientId => $"{ClientIdPrefix}{ServiceName}-{ReplicaIndex}";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ReplicaIndex >= ReplicaCount)
        {
            yield return new ValidationResult($"Messaging:Mqtt:ReplicaIndex ({ReplicaIndex}) must be below ReplicaCount ({ReplicaCount}).",
                [nameof(ReplicaIndex), nameof(ReplicaCount)]);
        }

        if (ReplicaCount > Partitions)
        {
            yield return new ValidationResult($"Messaging:Mqtt:ReplicaCount ({ReplicaCount}) exceeds Partitions ({Partitions}): a replica would own no partition.",
                [nameof(ReplicaCount), nameof(Partitions)]);
        }

        if (ReconnectMaxDelayMs < ReconnectMinDelayMs)
        {
            yield return new ValidationResult("Messaging:Mqtt:ReconnectMaxDelayMs must not be below ReconnectMinDelayMs.",
                [nameof(ReconnectMaxDelayMs)]);
        }

        if (Username is null && Password is not null)
        {
            yield return new ValidationResult("Messaging:Mqtt:Password is set without a Username.", [nameof(Password)]);
        }
    }
}
