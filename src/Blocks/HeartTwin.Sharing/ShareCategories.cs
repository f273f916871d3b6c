namespace HeartTwin.Sharing;

/// <summary>The data categories Sharing asks the Policy about (the <c>Category</c> of a <see cref="HeartTwin.Contracts.ShareRequest"/>).</summary>
public static class ShareCategories
{
    /// <summary>ECG samples.</summary>
    public const string Ecg = "ecg";
    /// <summary>Beats with their classes.</summary>
    public const string Beats = "beats";
    /// <summary>Detected events (the Agent's proposals with their decisions).</summary>
    public const string Events = "events";
    /// <summary>Actions: proposals that carry a device command, and the commands' status.</summary>
    public const string Actions = "actions";
    /// <summary>The twin state (heart rate, rhythm, HRV, quality) and window summaries.</summary>
    public const string State = "state";
    /// <summary>Non-ECG vital signs.</summary>
    public const string Vitals = "vitals";

    /// <summary>Every category a subscription or stream may name.</summary>
    public static readonly IReadOnlyList<string> All = [Ecg, Beats, Events, Actions, State, Vitals];

    /// <summary>Whether <paramref name="category"/> is one of <see cref="All"/>.</summary>
    public static bool IsKnown(string? category) => category is not null && All.Contains(category, StringComparer.Ordinal);
}

/// <summary>The event names of the live stream and of webhook deliveries, each with its data category.</summary>
public static class ShareEvents
{
    /// <summary>An ECG batch (<see cref="HeartTwin.Contracts.SamplesReceived"/>); category ecg.</summary>
    public const string Samples = "samples";
    /// <summary>The twin state after an analysis; category state.</summary>
    public const string State = "state";
    /// <summary>Beats classified in an analysis; category beats.</summary>
    public const string Beats = "beats";
    /// <summary>A decided event or action (<see cref="HeartTwin.Contracts.ActionDecided"/>); category events.</summary>
    public const string Action = "action";
    /// <summary>A command's status changed; category actions.</summary>
    public const string Command = "command";
    /// <summary>A window was acquired (quality, heart rate); category state.</summary>
    public const string Window = "window";
    /// <summary>Vital-sign observations; category vitals.</summary>
    public const string Vitals = "vitals";

    /// <summary>The category of each event name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Category = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Samples] = ShareCategories.Ecg,
        [State] = ShareCategories.State,
        [Beats] = ShareCategories.Beats,
        [Action] = ShareCategories.Events,
        [Command] = ShareCategories.Actions,
        [Window] = ShareCategories.State,
        [Vitals] = ShareCategories.Vitals,
    };
}

/// <summary>The purposes Sharing names in its share requests.</summary>
public static class SharePurposes
{
    /// <summary>The REST API.</summary>
    public const string Api = "api";
    /// <summary>The live SSE stream.</summary>
    public const string Stream = "stream";
    /// <summary>A webhook delivery to another twin.</summary>
    public const string Webhook = "webhook";
    /// <summary>The FHIR R4 API.</summary>
    public const string Fhir = "fhir";
    /// <summary>A GDPR export.</summary>
    public const string Export = "export";
}
