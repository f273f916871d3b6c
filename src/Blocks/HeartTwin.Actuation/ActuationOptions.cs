using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Actuation;

/// <summary>Options of the <c>Actuation</c> configuration section.</summary>
public sealed class ActuationOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Actuation";

    /// <summary>Seconds to wait for a device's acknowledgement before sending again. Default 10.</summary>
    [Range(1, 3600)]
    public int AckTimeoutSeconds { get; set; } = 10;

    /// <summary>Sends per command (the first and the retries) before it is timed out. Default 3.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Milliseconds between checks for overdue acknowledgements. Default 500.</summary>
    [Range(10, 60_000)]
    public int CheckIntervalMs { get; set; } = 500;

    /// <summary>How long <c>POST /api/twins/{patientId}/commands</c> waits for the policy's decision, in ms. Default 2000.</summary>
    [Range(0, 30_000)]
    public int DecisionWaitMs { get; set; } = 2000;

    /// <summary>Minutes a finished command stays queryable (and guarded against a resend on redelivery). Default 1440.</summary>
    [Range(1, 7 * 24 * 60)]
    public int RetainFinishedMinutes { get; set; } = 24 * 60;
}
