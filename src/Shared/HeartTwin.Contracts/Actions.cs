namespace HeartTwin.Contracts;

/// <summary>Event types the Agent detects, each of which may propose an action.</summary>
public static class EventTypes
{
    /// <summary>Atrial fibrillation began.</summary>
    public const string AfOnset = "af-onset";
    /// <summary>Atrial fibrillation ended.</summary>
    public const string AfOffset = "af-offset";
    /// <summary>A run of three or more consecutive ventricular beats.</summary>
    public const string VentricularRun = "ventricular-run";
    /// <summary>Heart rate above the configured upper bound.</summary>
    public const string HeartRateHigh = "heart-rate-high";
    /// <summary>Heart rate below the configured lower bound.</summary>
    public const string HeartRateLow = "heart-rate-low";
    /// <summary>The signal became unusable (flat line, leads off, noise) for the configured time.</summary>
    public const string SignalLost = "signal-lost";
    /// <summary>The device sent nothing for the configured time.</summary>
    public const string DeviceSilent = "device-silent";
    /// <summary>The device's sequence skipped batches.</summary>
    public const string SequenceGap = "sequence-gap";
    /// <summary>A person or another system asked for a command.</summary>
    public const string ManualRequest = "manual-request";
}

/// <summary>Commands an actuator understands (the policy bounds each).</summary>
public static class DeviceCommands
{
    /// <summary>Raise an alarm on the device. Parameters: "level" (1–3), "message".</summary>
    public const string RaiseAlarm = "raise-alarm";
    /// <summary>Change the sampling rate. Parameter: "sampleRateHz".</summary>
    public const string SetSampleRate = "set-sample-rate";
    /// <summary>Record a 12-lead capture. Parameter: "durationSeconds".</summary>
    public const string Capture12Lead = "capture-12-lead";
    /// <summary>Adjust a pacing parameter. Parameters: "parameter" name (e.g. "lowerRateBpm") and "value".</summary>
    public const string AdjustPacing = "adjust-pacing";
}

/// <summary>A command for a device, with its parameters (numbers or strings, as JSON scalars).</summary>
/// <param name="Name">One of <see cref="DeviceCommands"/>.</param>
/// <param name="Parameters">Named parameters.</param>
public sealed record DeviceCommand(string Name, IReadOnlyDictionary<string, string> Parameters);

/// <summary>The Agent (or a person through the API) proposes an action; the Policy decides on it.</summary>
/// <param name="ActionId">Unique id (GUID "N" format), stable across redelivery.</param>
/// <param name="PatientId">The patient.</param>
/// <param name="DeviceId">The device concerned (the target of <paramref name="Command"/>), if any.</param>
/// <param name="EventType">What was detected: one of <see cref="EventTypes"/>.</param>
/// <param name="Severity">"info", "warning" or "critical".</param>
/// <param name="Reason">Why, in words a clinician reads ("3 ventricular beats in a row at 10:42:07").</param>
/// <param name="OccurredAt">UTC signal time of the event.</param>
/// <param name="SourceReceivedAt">When the Connector accepted the data that revealed it (for the arrival-to-alert latency).</param>
/// <param name="ProposedAt">UTC time of the proposal.</param>
/// <param name="ProposedBy">"agent" or the id of the person or system that asked.</param>
/// <param name="Command">The device command proposed, if any; null for an alert only.</param>
/// <param name="Details">Figures that support the reason (e.g. "heartRateBpm": "142").</param>
public sealed record ActionProposed(
    string ActionId,
    string PatientId,
    string? DeviceId,
    string EventType,
    string Severity,
    string Reason,
    DateTimeOffset OccurredAt,
    DateTimeOffset SourceReceivedAt,
    DateTimeOffset ProposedAt,
    string ProposedBy,
    DeviceCommand? Command,
    IReadOnlyDictionary<string, string> Details) : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => ActionId;
}

/// <summary>The Policy decided on a proposed action.</summary>
/// <param name="Proposal">The proposal decided on.</param>
/// <param name="Allowed">Whether it may go ahead (the alert is raised and shared; the command is sent).</param>
/// <param name="Rule">Id of the rule that decided, or "default-deny".</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="DecidedAt">UTC time of the decision.</param>
/// <param name="PolicyVersion">Version (content hash) of the descriptor that decided.</param>
public sealed record ActionDecided(
    ActionProposed Proposal, bool Allowed, string Rule, string Reason, DateTimeOffset DecidedAt, string PolicyVersion)
    : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string PatientId => Proposal.PatientId;

    /// <inheritdoc />
    public string MessageKey => Proposal.ActionId;
}

/// <summary>One entry of the append-only, hash-chained audit trail.</summary>
/// <param name="Sequence">Position in the trail, from 1 with no gaps.</param>
/// <param name="Time">UTC time of the decision.</param>
/// <param name="Category">"action", "command" or "share".</param>
/// <param name="Actor">Who asked: "agent", a user id, a recipient id.</param>
/// <param name="PatientId">The patient concerned ("*" when none).</param>
/// <param name="Subject">What was decided on (action id, command name, data category).</param>
/// <param name="Allowed">The decision.</param>
/// <param name="Rule">The rule that decided.</param>
/// <param name="Reason">Why.</param>
/// <param name="PolicyVersion">Version (content hash) of the descriptor.</param>
/// <param name="PreviousHash">Hash of the previous entry (hex), all zeros for the first.</param>
/// <param name="Hash">SHA-256 (hex) over the previous hash and this entry's canonical fields.</param>
public sealed record AuditRecorded(
    long Sequence,
    DateTimeOffset Time,
    string Category,
    string Actor,
    string PatientId,
    string Subject,
    bool Allowed,
    string Rule,
    string Reason,
    string PolicyVersion,
    string PreviousHash,
    string Hash) : IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"audit:{Sequence}";
}

/// <summary>Ask the Policy whether data may be shared (answered with <see cref="ShareDecision"/>; every answer is audited).</summary>
/// <param name="Recipient">Who receives: a token subject or a subscription's recipient id.</param>
/// <param name="Scopes">Scopes the recipient holds (SMART style, e.g. "patient/*.rs").</param>
/// <param name="PatientId">Whose data.</param>
/// <param name="Category">Data category: "ecg", "beats", "events", "actions", "state", "vitals", "audit".</param>
/// <param name="Purpose">"api", "stream", "webhook", "fhir".</param>
public sealed record ShareRequest(string Recipient, IReadOnlyList<string> Scopes, string PatientId, string Category, string Purpose);

/// <summary>The Policy's answer to a <see cref="ShareRequest"/>.</summary>
/// <param name="Allowed">Whether the data may leave.</param>
/// <param name="Rule">The rule that decided.</param>
/// <param name="Reason">Why.</param>
public sealed record ShareDecision(bool Allowed, string Rule, string Reason);

/// <summary>Send a command to a device (from Actuation to the Connector).</summary>
/// <param name="CommandId">Unique id; the device acknowledges it by this id.</param>
/// <param name="DeviceId">Target device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Command">The command.</param>
/// <param name="ActionId">The action that authorised it.</param>
/// <param name="Attempt">1 for the first send, then 2, 3 … on retries.</param>
/// <param name="IssuedAt">UTC time this attempt was issued.</param>
public sealed record ActuateDevice(
    string CommandId, string DeviceId, string PatientId, DeviceCommand Command, string ActionId, int Attempt, DateTimeOffset IssuedAt)
    : IPatientMessage;

/// <summary>A device acknowledged (or rejected) a command.</summary>
/// <param name="CommandId">The command.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Status">"accepted", "rejected" or "failed", as the device reported.</param>
/// <param name="Detail">The device's message, if any.</param>
/// <param name="AcknowledgedAt">UTC time the Connector received the acknowledgement.</param>
public sealed record CommandAcknowledged(string CommandId, string DeviceId, string PatientId, string Status, string? Detail, DateTimeOffset AcknowledgedAt)
    : IPatientMessage, IKeyedMessage
{
    /// <inheritdoc />
    public string MessageKey => $"ack:{CommandId}";
}

/// <summary>A command's lifecycle state changed (Actuation tracks it).</summary>
/// <param name="CommandId">The command.</param>
/// <param name="ActionId">The action it came from.</param>
/// <param name="DeviceId">Target device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Command">The command.</param>
/// <param name="Status">"pending", "sent", "acknowledged", "rejected", "timed-out" or "failed".</param>
/// <param name="Attempts">Sends so far.</param>
/// <param name="UpdatedAt">UTC time of the change.</param>
/// <param name="Detail">Device message or failure reason.</param>
public sealed record CommandStatusChanged(
    string CommandId, string ActionId, string DeviceId, string PatientId, DeviceCommand Command, string Status, int Attempts, DateTimeOffset UpdatedAt, string? Detail)
    : IPatientMessage;
