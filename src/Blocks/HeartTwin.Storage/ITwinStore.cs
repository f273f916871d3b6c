using HeartTwin.Contracts;

namespace HeartTwin.Storage;

/// <summary>
/// The store's contract, whatever database is behind it (<see cref="Sqlite.SqliteStore"/>, <see cref="Postgres.PostgresStore"/>).
/// The handlers and retention use only this, so that both providers behave identically; the shared contract tests prove it.
/// <list type="bullet">
/// <item>Every write completes only once its data is committed (durable before the handler acknowledges).</item>
/// <item>Every write is idempotent on its message key: a redelivery is stored once.</item>
/// <item>Samples are kept as one HTC1-compressed chunk per batch, keyed by (device, sequence).</item>
/// <item>The audit trail is append-only: the database itself refuses to update or delete an entry, and erase keeps it.</item>
/// </list>
/// </summary>
internal interface ITwinStore : IAsyncDisposable
{
    /// <summary>Adds the patient (once) and the device (latest registration wins).</summary>
    Task RegisterDeviceAsync(DeviceRegistered m, CancellationToken ct);

    /// <summary>Stores a sample batch as one compressed chunk; false when (device, sequence) was already stored.</summary>
    /// <exception cref="ArgumentException">The batch's rate or leads are invalid.</exception>
    Task<bool> StoreSamplesAsync(SamplesReceived m, CancellationToken ct);

    /// <summary>Stores detected beats (keeping a class that the analysis stored first).</summary>
    Task StoreBeatsAsync(BeatsAcquired m, CancellationToken ct);

    /// <summary>Stores the twin state (latest wins) and the beat classes.</summary>
    Task StoreAnalysisAsync(AnalysisCompleted m, CancellationToken ct);

    /// <summary>Stores an acquired window once.</summary>
    Task StoreWindowAsync(WindowAcquired m, CancellationToken ct);

    /// <summary>Stores vital observations once.</summary>
    Task StoreVitalsAsync(VitalsReceived m, CancellationToken ct);

    /// <summary>Stores a sequence gap once.</summary>
    Task StoreGapAsync(SequenceGapDetected m, CancellationToken ct);

    /// <summary>Stores a proposed action once.</summary>
    Task StoreProposalAsync(ActionProposed m, CancellationToken ct);

    /// <summary>Stores a decision (with its proposal, if that has not arrived).</summary>
    Task StoreDecisionAsync(ActionDecided m, CancellationToken ct);

    /// <summary>Stores a command status; the latest by time, then attempts, wins whatever the arrival order.</summary>
    Task StoreCommandStatusAsync(CommandStatusChanged m, CancellationToken ct);

    /// <summary>Appends an audit entry; a redelivery is ignored, a different entry under a stored sequence is refused.</summary>
    /// <exception cref="InvalidOperationException">Another entry already holds this sequence (the trail would fork).</exception>
    Task StoreAuditAsync(AuditRecorded m, CancellationToken ct);

    /// <summary>Deletes every row about a patient except the audit trail; returns the rows deleted.</summary>
    Task<long> ErasePatientAsync(string patientId, CancellationToken ct);

    /// <summary>Deletes samples, beats, windows, vitals and gaps received before <paramref name="cutoff"/>; returns the rows deleted.</summary>
    Task<long> DeleteReceivedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct);

    /// <summary>Answers a <see cref="SamplesQuery"/>: the chunks in range, decoded and trimmed to it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range holds more than MaxSamplesPerLead.</exception>
    /// <exception cref="Compression.SampleCodecException">A chunk is corrupt.</exception>
    Task<SamplesResult> QuerySamplesAsync(SamplesQuery q, CancellationToken ct);

    /// <summary>Answers a <see cref="BeatsQuery"/>.</summary>
    Task<BeatsResult> QueryBeatsAsync(BeatsQuery q, CancellationToken ct);

    /// <summary>Answers a <see cref="WindowsQuery"/>.</summary>
    Task<WindowsResult> QueryWindowsAsync(WindowsQuery q, CancellationToken ct);

    /// <summary>Answers an <see cref="EventsQuery"/>.</summary>
    Task<EventsResult> QueryEventsAsync(EventsQuery q, CancellationToken ct);

    /// <summary>Answers an <see cref="AuditQuery"/> (entries and the trail's head, one snapshot).</summary>
    Task<AuditResult> QueryAuditAsync(AuditQuery q, CancellationToken ct);

    /// <summary>Answers a <see cref="PatientsQuery"/>.</summary>
    Task<PatientsResult> QueryPatientsAsync(PatientsQuery q, CancellationToken ct);

    /// <summary>Answers a <see cref="VitalsQuery"/>.</summary>
    Task<VitalsResult> QueryVitalsAsync(VitalsQuery q, CancellationToken ct);

    /// <summary>Rows in a table of the schema (tests and diagnostics).</summary>
    /// <exception cref="ArgumentException">Not a table of the schema.</exception>
    Task<long> CountAsync(string table, CancellationToken ct = default);
}
