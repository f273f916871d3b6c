using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Messaging;

/// <summary>Options of the <c>Messaging</c> configuration section.</summary>
public sealed class MessagingOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Messaging";

    /// <summary>"InMemory" (one process) or "Mqtt" (distributed).</summary>
    [Required, RegularExpression("^(InMemory|Mqtt)$")]
    public string Transport { get; set; } = "InMemory";

    /// <summary>Partitions (ordered single-reader queues) per subscription. 0 = twice the processor count.</summary>
    [Range(0, 1024)]
    public int Partitions { get; set; }

    /// <summary>Bounded capacity of each partition queue, in messages.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Attempts per message and subscriber before it is parked.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay in milliseconds (doubles at each attempt).</summary>
    [Range(0, 60_000)]
    public int RetryDelayMs { get; set; } = 50;
}
