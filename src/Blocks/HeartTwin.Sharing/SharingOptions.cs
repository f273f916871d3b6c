using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Sharing;

/// <summary>Options of the <c>Sharing</c> configuration section.</summary>
public sealed class SharingOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Sharing";

    /// <summary>Folder of <c>sharing.db</c> (webhook subscriptions, their delivery outbox, and the inbox).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Longest ECG range one request may ask for, in seconds.</summary>
    [Range(1, 7 * 24 * 3600)]
    public int MaxEcgRangeSeconds { get; set; } = 3600;

    /// <summary>Most samples per lead one ECG request may return (Storage refuses larger answers too).</summary>
    [Range(1, 100_000_000)]
    public int MaxEcgSamplesPerLead { get; set; } = 1_296_000;

    /// <summary>Range of the beats, events, actions and vitals lists when the caller gives no <c>from</c>, in hours before <c>to</c>.</summary>
    [Range(1, 24 * 366)]
    public int DefaultRangeHours { get; set; } = 24;

    /// <summary>Live-stream events buffered per client; beyond this the oldest are dropped and the client gets a <c>lag</c> event.</summary>
    [Range(1, 100_000)]
    public int StreamBufferCapacity { get; set; } = 256;

    /// <summary>Attempts per webhook delivery before it is marked failed.</summary>
    [Range(1, 50)]
    public int WebhookMaxAttempts { get; set; } = 8;

    /// <summary>Delay before the first webhook retry in milliseconds; it doubles at each attempt.</summary>
    [Range(1, 3_600_000)]
    public int WebhookRetryBaseDelayMs { get; set; } = 1000;

    /// <summary>Longest delay between two webhook attempts, in milliseconds.</summary>
    [Range(1, 86_400_000)]
    public int WebhookRetryMaxDelayMs { get; set; } = 300_000;

    /// <summary>Timeout of one webhook POST, in seconds.</summary>
    [Range(1, 600)]
    public int WebhookTimeoutSeconds { get; set; } = 10;

    /// <summary>How often the webhook worker looks for due retries when nothing new arrived, in milliseconds.</summary>
    [Range(10, 600_000)]
    public int WebhookPollIntervalMs { get; set; } = 1000;

    /// <summary>Largest body <c>POST /api/inbox</c> accepts, in bytes.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxInboxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// When set, <c>POST /api/inbox</c> also requires a valid <c>X-HeartTwin-Signature</c> (HMAC-SHA256 of the body with this secret),
    /// the secret the sending twin's subscription was created with.
    /// </summary>
    [MaxLength(1024)]
    public string? InboxSecret { get; set; }
}
