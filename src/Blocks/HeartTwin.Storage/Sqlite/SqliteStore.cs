using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Storage.Compression;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Storage.Sqlite;

/// <summary>
/// The SQLite store: one writer connection behind the group-commit loop, reads on their own pooled connections (WAL lets
/// them run beside the writer). Every write is idempotent on its message key.
/// </summary>
internal sealed partial class SqliteStore : ITwinStore
{
    /// <summary>Codec name stored with each chunk, so that a later codec can sit beside this one.</summary>
    public const string CodecName = SampleChunkReader.CodecName;

    private static readonly string ZeroHash = new('0', 64);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string readConnectionString;
    private readonly SqliteConnection writeConnection;
    private readonly GroupCommitWriter writer;
    private readonly StorageOptions options;
    private readonly StorageStats stats;
    private readonly TimeProvider time;
    private readonly ILogger<SqliteStore> logger;
    private int disposed;

    public SqliteStore(IOptions<StorageOptions> options, StorageStats stats, TimeProvider time, ILogger<SqliteStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.stats = stats;
        this.time = time;
        this.logger = logger;
        var directory = this.options.DataDirectory ?? throw new InvalidOperationException("Storage:DataDirectory is required.");
        Directory.CreateDirectory(directory);
        DatabasePath = Path.Combine(directory, this.options.FileName);
        var builder = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false, DefaultTimeout = Math.Max(1, this.options.BusyTimeoutMs / 1000) };
        writeConnection = new SqliteConnection(builder.ToString());
        writeConnection.Open();
        string synchronous = this.options.Synchronous == "Full" ? "FULL" : "NORMAL";
        ExecutePragmas(writeConnection, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = {this.options.BusyTimeoutMs.ToString(CultureInfo.InvariantCulture)};");
        int version = Migrate(writeConnection);
        builder.Pooling = true;
        builder.Mode = SqliteOpenMode.ReadWrite;
        readConnectionString = builder.ToString();
        writer = new GroupCommitWriter(writeConnection, this.options.MaxWritesPerTransaction, stats, logger);
        LogOpened(DatabasePath, version, synchronous);
    }

    /// <summary>Full path of the database file.</summary>
    public string DatabasePath { get; }

    // ------------------------------------------------------------------ schema

    private static void ExecutePragmas(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // Built from validated options (an enum-like string and an integer).
        command.CommandText = sql;
#pragma warning restore CA2100
        command.ExecuteNonQuery();
    }

    private static int Migrate(SqliteConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "PRAGMA user_version";
        int version = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > Schema.Migrations.Count)
        {
            throw new InvalidOperationException(
                $"The database has schema version {version}, newer than this build knows ({Schema.Migrations.Count}); run the newer build or another data directory.");
        }

        for (int v = version; v < Schema.Migrations.Count; v++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
#pragma warning disable CA2100 // Migrations are constants of this block.
            command.CommandText = Schema.Migrations[v] + $";\nPRAGMA user_version = {(v + 1).ToString(CultureInfo.InvariantCulture)};";
#pragma warning restore CA2100
            command.ExecuteNonQuery();
            transaction.Commit();
        }

        return Schema.Migrations.Count;
    }

    // ------------------------------------------------------------------ writes

    public Task RegisterDeviceAsync(DeviceRegistered m, CancellationToken ct) => writer.WriteAsync(db =>
    {
        int changed = db.Execute("INSERT INTO patients (patient_id, created_ticks) VALUES ($1, $2) ON CONFLICT DO NOTHING", m.PatientId, m.RegisteredAt.UtcTicks);
        changed += db.Execute(
            """
            INSERT INTO devices (device_id, patient_id, kind, registered_ticks) VALUES ($1, $2, $3, $4)
            ON CONFLICT (device_id) DO UPDATE SET patient_id = excluded.patient_id, kind = excluded.kind, registered_ticks = excluded.registered_ticks
            """,
            m.DeviceId, m.PatientId, m.Kind, m.RegisteredAt.UtcTicks);
        stats.RecordRows(changed);
        return changed;
    }, ct);

    /// <summary>Stores a sample batch as one compressed chunk; false when (device, sequence) was already stored.</summary>
    public async Task<bool> StoreSamplesAsync(SamplesReceived m, CancellationToken ct)
    {
        // Checked and compressed on the caller's thread (handlers run concurrently); the writer only inserts.
        var (blob, perLead, endTicks, leads) = EncodedChunk.From(m, options.CodecBlockSize);
        bool inserted = await writer.WriteAsync(db =>
        {
            db.Execute("INSERT INTO lead_sets (leads) VALUES ($1) ON CONFLICT DO NOTHING", leads);
            long leadSet = (long)db.Scalar("SELECT lead_set_id FROM lead_sets WHERE leads = $1", leads)!;
            int changed = db.Execute(
                """
                INSERT OR IGNORE INTO sample_chunks (device_id, sequence, patient_id, start_ticks, end_ticks, rate_hz, samples_per_lead, lead_set_id, codec, data, received_ticks)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                m.DeviceId, m.Sequence, m.PatientId, m.StartTime.UtcTicks, endTicks, m.SampleRateHz, perLead, leadSet, CodecName, blob, m.ReceivedAt.UtcTicks);
            if (changed == 0)
            {
                return false;
            }

            // A device the Storage block has not seen registered (e.g. registered before a fresh database) still gets its patient.
            changed += db.Execute("INSERT INTO patients (patient_id, created_ticks) VALUES ($1, $2) ON CONFLICT DO NOTHING", m.PatientId, m.ReceivedAt.UtcTicks);
            changed += db.Execute("INSERT INTO devices (device_id, patient_id, kind, registered_ticks) VALUES ($1, $2, 'unknown', $3) ON CONFLICT DO NOTHING", m.DeviceId, m.PatientId, m.ReceivedAt.UtcTicks);
            stats.RecordRows(changed);
            return true;
        }, ct).ConfigureAwait(false);
        if (inserted)
        {
            stats.RecordChunk((long)perLead * m.Samples.Length, blob.Length);
        }
        else
        {
            stats.RecordDuplicate();
        }

        return inserted;
    }

    public Task StoreBeatsAsync(BeatsAcquired m, CancellationToken ct) => writer.WriteAsync(db =>
    {
        int changed = 0;
        foreach (var beat in m.Beats)
        {
            // The class may already be there (AnalysisCompleted came first); keep it, fill in what acquisition knows.
            changed += db.Execute(
                """
                INSERT INTO beats (device_id, time_ticks, patient_id, rr_ms, lead, sequence, received_ticks) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (device_id, time_ticks) DO UPDATE SET rr_ms = excluded.rr_ms, lead = excluded.lead, sequence = excluded.sequence
                WHERE beats.sequence IS NULL
                """,
                m.DeviceId, beat.Time.UtcTicks, m.PatientId, beat.RrMs, beat.Lead, m.Sequence, m.SourceReceivedAt.UtcTicks);
        }

        stats.RecordRows(changed);
        return changed;
    }, ct);

    public Task StoreAnalysisAsync(AnalysisCompleted m, CancellationToken ct)
    {
        string state = JsonSerializer.Serialize(m.State, Json);
        long now = time.GetUtcNow().UtcTicks;
        return writer.WriteAsync(db =>
        {
            int changed = db.Execute("INSERT INTO patients (patient_id, created_ticks) VALUES ($1, $2) ON CONFLICT DO NOTHING", m.PatientId, now);
            changed += db.Execute(
                """
                INSERT INTO twin_states (patient_id, updated_ticks, state) VALUES ($1, $2, $3)
                ON CONFLICT (patient_id) DO UPDATE SET updated_ticks = excluded.updated_ticks, state = excluded.state
                WHERE excluded.updated_ticks >= twin_states.updated_ticks
                """,
                m.PatientId, m.State.UpdatedAt.UtcTicks, state);
            foreach (var beat in m.Beats)
            {
                changed += m.DeviceId is null
                    ? db.Execute("UPDATE beats SET class = $3, confidence = $4, model_id = $5 WHERE patient_id = $1 AND time_ticks = $2",
                        m.PatientId, beat.Time.UtcTicks, beat.Class, beat.Confidence, m.State.ModelId)
                    : db.Execute(
                        """
                        INSERT INTO beats (device_id, time_ticks, patient_id, rr_ms, lead, class, confidence, model_id, received_ticks) VALUES ($1, $2, $3, 0, '', $4, $5, $6, $7)
                        ON CONFLICT (device_id, time_ticks) DO UPDATE SET class = excluded.class, confidence = excluded.confidence, model_id = excluded.model_id
                        """,
                        m.DeviceId, beat.Time.UtcTicks, m.PatientId, beat.Class, beat.Confidence, m.State.ModelId, now);
            }

            stats.RecordRows(changed);
            return changed;
        }, ct);
    }

    public Task StoreWindowAsync(WindowAcquired m, CancellationToken ct)
    {
        string payload = JsonSerializer.Serialize(m, Json);
        return writer.WriteAsync(db => Counted(db.Execute(
            """
            INSERT OR IGNORE INTO windows (device_id, window_sequence, patient_id, start_ticks, end_ticks, received_ticks, payload)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            m.DeviceId, m.WindowSequence, m.PatientId, m.Start.UtcTicks, m.End.UtcTicks, m.SourceReceivedAt.UtcTicks, payload)), ct);
    }

    public Task StoreVitalsAsync(VitalsReceived m, CancellationToken ct) => writer.WriteAsync(db =>
    {
        int changed = 0;
        for (int i = 0; i < m.Observations.Count; i++)
        {
            var o = m.Observations[i];
            changed += db.Execute(
                """
                INSERT OR IGNORE INTO vitals (device_id, sequence, idx, patient_id, code, value, unit, time_ticks, received_ticks)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """,
                m.DeviceId, m.Sequence, i, m.PatientId, o.Code, o.Value, o.Unit, o.Time.UtcTicks, m.ReceivedAt.UtcTicks);
        }

        return Counted(changed);
    }, ct);

    public Task StoreGapAsync(SequenceGapDetected m, CancellationToken ct) => writer.WriteAsync(db => Counted(db.Execute(
        """
        INSERT OR IGNORE INTO gaps (device_id, expected_sequence, patient_id, received_sequence, detected_ticks) VALUES ($1, $2, $3, $4, $5)
        """,
        m.DeviceId, m.ExpectedSequence, m.PatientId, m.ReceivedSequence, m.DetectedAt.UtcTicks)), ct);

    public Task StoreProposalAsync(ActionProposed m, CancellationToken ct)
    {
        string proposal = JsonSerializer.Serialize(m, Json);
        return writer.WriteAsync(db => Counted(db.Execute(
            "INSERT OR IGNORE INTO actions (action_id, patient_id, occurred_ticks, proposal) VALUES ($1, $2, $3, $4)",
            m.ActionId, m.PatientId, m.OccurredAt.UtcTicks, proposal)), ct);
    }

    public Task StoreDecisionAsync(ActionDecided m, CancellationToken ct)
    {
        string proposal = JsonSerializer.Serialize(m.Proposal, Json);
        string decision = JsonSerializer.Serialize(m, Json);
        // The decision carries its proposal, so it stores the action even if ActionProposed has not arrived (yet).
        return writer.WriteAsync(db => Counted(db.Execute(
            """
            INSERT INTO actions (action_id, patient_id, occurred_ticks, proposal, decision) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (action_id) DO UPDATE SET decision = excluded.decision
            """,
            m.Proposal.ActionId, m.PatientId, m.Proposal.OccurredAt.UtcTicks, proposal, decision)), ct);
    }

    public Task StoreCommandStatusAsync(CommandStatusChanged m, CancellationToken ct)
    {
        string status = JsonSerializer.Serialize(m, Json);
        // Latest wins, by time and then by attempts, whatever order the changes arrive in.
        return writer.WriteAsync(db => Counted(db.Execute(
            """
            INSERT INTO commands (command_id, action_id, patient_id, updated_ticks, attempts, status) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (command_id) DO UPDATE SET updated_ticks = excluded.updated_ticks, attempts = excluded.attempts, status = excluded.status
            WHERE excluded.updated_ticks > commands.updated_ticks
               OR (excluded.updated_ticks = commands.updated_ticks AND excluded.attempts >= commands.attempts)
            """,
            m.CommandId, m.ActionId, m.PatientId, m.UpdatedAt.UtcTicks, m.Attempts, status)), ct);
    }

    /// <summary>Appends an audit entry; a redelivery is ignored, a different entry under a stored sequence is refused.</summary>
    /// <exception cref="InvalidOperationException">Another entry already holds this sequence (the trail would fork).</exception>
    public Task StoreAuditAsync(AuditRecorded m, CancellationToken ct) => writer.WriteAsync(db =>
    {
        int changed = db.Execute(
            """
            INSERT OR IGNORE INTO audit (sequence, time_ticks, category, actor, patient_id, subject, allowed, rule, reason, policy_version, previous_hash, hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            m.Sequence, m.Time.UtcTicks, m.Category, m.Actor, m.PatientId, m.Subject, m.Allowed ? 1 : 0, m.Rule, m.Reason, m.PolicyVersion, m.PreviousHash, m.Hash);
        if (changed == 0)
        {
            var stored = db.Scalar("SELECT hash FROM audit WHERE sequence = $1", m.Sequence) as string;
            if (!string.Equals(stored, m.Hash, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"Audit entry {m.Sequence.ToString(CultureInfo.InvariantCulture)} conflicts with the stored one (hash {stored ?? "(another sequence holds it)"}, got {m.Hash}); the trail is append-only.");
            }

            stats.RecordDuplicate();
        }

        return Counted(changed);
    }, ct);

    /// <summary>Deletes every row about a patient except the audit trail; returns the rows deleted.</summary>
    public Task<long> ErasePatientAsync(string patientId, CancellationToken ct) => writer.WriteAsync(db =>
    {
        long deleted = 0;
        foreach (var table in ErasableTables)
        {
            deleted += db.Execute($"DELETE FROM {table} WHERE patient_id = $1", patientId);
        }

        return deleted;
    }, ct);

    private static readonly string[] ErasableTables =
        ["sample_chunks", "beats", "windows", "vitals", "gaps", "commands", "actions", "twin_states", "devices", "patients"];

    private static readonly (string Table, string Column)[] RetainedTables =
    [
        ("sample_chunks", "received_ticks"), ("beats", "received_ticks"), ("windows", "received_ticks"), ("vitals", "received_ticks"), ("gaps", "detected_ticks"),
    ];

    /// <summary>Deletes samples, beats, windows, vitals and gaps received before <paramref name="cutoff"/>, in small transactions so writers keep flowing.</summary>
    public async Task<long> DeleteReceivedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        const int Slice = 5_000;
        long total = 0;
        foreach (var (table, column) in RetainedTables)
        {
            string sql = $"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {column} < $1 LIMIT {Slice.ToString(CultureInfo.InvariantCulture)})";
            int deleted;
            do
            {
                ct.ThrowIfCancellationRequested();
                deleted = await writer.WriteAsync(db => db.Execute(sql, cutoff.UtcTicks), ct).ConfigureAwait(false);
                total += deleted;
            }
            while (deleted == Slice);
        }

        return total;
    }

    private int Counted(int changed)
    {
        if (changed > 0)
        {
            stats.RecordRows(changed);
        }
        else
        {
            stats.RecordDuplicate();
        }

        return changed;
    }

    // ------------------------------------------------------------------ reads

    private async Task<SqliteConnection> OpenReadAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(readConnectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params ReadOnlySpan<object?> args)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Statements are constants of this block; values always travel as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        for (int i = 0; i < args.Length; i++)
        {
            command.Parameters.AddWithValue("$" + (i + 1).ToString(CultureInfo.InvariantCulture), args[i] ?? DBNull.Value);
        }

        return command;
    }

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    public async Task<SamplesResult> QuerySamplesAsync(SamplesQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.MaxSamplesPerLead, nameof(q.MaxSamplesPerLead));
        if (q.To <= q.From)
        {
            return new SamplesResult([]);
        }

        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection,
            """
            SELECT c.device_id, c.sequence, c.start_ticks, c.rate_hz, c.samples_per_lead, l.leads, c.codec, c.data
            FROM sample_chunks c JOIN lead_sets l ON l.lead_set_id = c.lead_set_id
            WHERE c.patient_id = $1 AND c.end_ticks > $2 AND c.start_ticks < $3
            ORDER BY c.start_ticks, c.device_id, c.sequence
            """,
            q.PatientId, q.From.UtcTicks, q.To.UtcTicks);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var chunks = new SampleChunkReader(q);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            chunks.Add(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3), reader.GetInt32(4), reader.GetString(5),
                reader.GetString(6), () => (byte[])reader.GetValue(7));
        }

        return new SamplesResult(chunks.Segments);
    }

    public async Task<BeatsResult> QueryBeatsAsync(BeatsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection,
            """
            SELECT device_id, time_ticks, rr_ms, class, confidence, model_id FROM beats
            WHERE patient_id = $1 AND time_ticks >= $2 AND time_ticks < $3 ORDER BY time_ticks, device_id LIMIT $4
            """,
            q.PatientId, q.From.UtcTicks, q.To.UtcTicks, q.Limit);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var beats = new List<StoredBeat>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            beats.Add(new StoredBeat(reader.GetString(0), Time(reader.GetInt64(1)), reader.GetDouble(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return new BeatsResult(beats);
    }

    public async Task<WindowsResult> QueryWindowsAsync(WindowsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        string order = q.Latest ? "DESC" : "ASC";
        var windows = await ReadJsonAsync<WindowAcquired>(
            $"SELECT payload FROM windows WHERE patient_id = $1 AND start_ticks >= $2 AND start_ticks < $3 ORDER BY start_ticks {order}, device_id {order} LIMIT $4",
            ct, q.PatientId, q.From.UtcTicks, q.To.UtcTicks, q.Limit).ConfigureAwait(false);
        if (q.Latest)
        {
            windows.Reverse();
        }

        return new WindowsResult(windows);
    }

    public async Task<EventsResult> QueryEventsAsync(EventsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection,
            """
            SELECT a.proposal, a.decision,
                   (SELECT c.status FROM commands c WHERE c.action_id = a.action_id ORDER BY c.updated_ticks DESC, c.attempts DESC LIMIT 1)
            FROM actions a
            WHERE a.patient_id = $1 AND a.occurred_ticks >= $2 AND a.occurred_ticks < $3
            ORDER BY a.occurred_ticks DESC, a.action_id DESC LIMIT $4
            """,
            q.PatientId, q.From.UtcTicks, q.To.UtcTicks, q.Limit);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var actions = new List<StoredAction>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            actions.Add(new StoredAction(
                JsonSerializer.Deserialize<ActionProposed>(reader.GetString(0), Json)!,
                reader.IsDBNull(1) ? null : JsonSerializer.Deserialize<ActionDecided>(reader.GetString(1), Json),
                reader.IsDBNull(2) ? null : JsonSerializer.Deserialize<CommandStatusChanged>(reader.GetString(2), Json)));
        }

        actions.Reverse();
        return new EventsResult(actions);
    }

    public async Task<AuditResult> QueryAuditAsync(AuditQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        // Limit 0 asks only for the trail's head (the Policy continues the chain from it).
        ArgumentOutOfRangeException.ThrowIfNegative(q.Limit, nameof(q.Limit));
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        // One read transaction, so that the entries and the trail's head are one consistent snapshot.
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var entries = new List<AuditRecorded>();
        await using (var command = Command(connection,
            """
            SELECT sequence, time_ticks, category, actor, patient_id, subject, allowed, rule, reason, policy_version, previous_hash, hash FROM audit
            WHERE sequence >= $1 AND ($2 IS NULL OR patient_id = $2) ORDER BY sequence LIMIT $3
            """,
            q.FromSequence, q.PatientId, q.Limit))
        {
            command.Transaction = (SqliteTransaction)transaction;
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                entries.Add(new AuditRecorded(reader.GetInt64(0), Time(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), reader.GetInt64(6) != 0, reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10), reader.GetString(11)));
            }
        }

        await using var last = Command(connection, "SELECT sequence, hash FROM audit ORDER BY sequence DESC LIMIT 1");
        last.Transaction = (SqliteTransaction)transaction;
        await using var head = await last.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await head.ReadAsync(ct).ConfigureAwait(false)
            ? new AuditResult(entries, head.GetInt64(0), head.GetString(1))
            : new AuditResult(entries, 0, ZeroHash);
    }

    public async Task<PatientsResult> QueryPatientsAsync(PatientsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        // The listed ids travel as one JSON parameter (json_each), not as SQL text.
        string? filter = q.PatientIds is null ? null : JsonSerializer.Serialize(q.PatientIds, Json);
        await using var command = Command(connection,
            """
            SELECT p.patient_id, s.state, (SELECT json_group_array(d.device_id) FROM (SELECT device_id FROM devices WHERE patient_id = p.patient_id ORDER BY device_id) d)
            FROM patients p LEFT JOIN twin_states s ON s.patient_id = p.patient_id
            WHERE $1 IS NULL OR p.patient_id IN (SELECT value FROM json_each($1))
            ORDER BY p.patient_id
            """,
            filter);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var patients = new List<PatientSummary>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            patients.Add(new PatientSummary(reader.GetString(0),
                JsonSerializer.Deserialize<string[]>(reader.GetString(2), Json) ?? [],
                reader.IsDBNull(1) ? null : JsonSerializer.Deserialize<TwinState>(reader.GetString(1), Json)));
        }

        return new PatientsResult(patients);
    }

    public async Task<VitalsResult> QueryVitalsAsync(VitalsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection,
            """
            SELECT device_id, code, value, unit, time_ticks FROM vitals
            WHERE patient_id = $1 AND time_ticks >= $2 AND time_ticks < $3 ORDER BY time_ticks DESC, device_id DESC, sequence DESC, idx DESC LIMIT $4
            """,
            q.PatientId, q.From.UtcTicks, q.To.UtcTicks, q.Limit);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var observations = new List<(string, VitalObservation)>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            observations.Add((reader.GetString(0), new VitalObservation(reader.GetString(1), reader.GetDouble(2), reader.GetString(3), Time(reader.GetInt64(4)))));
        }

        observations.Reverse();
        return new VitalsResult(observations);
    }

    /// <summary>Rows in a table (for tests and diagnostics; the table name is checked against the schema's).</summary>
    public async Task<long> CountAsync(string table, CancellationToken ct = default)
    {
        if (!ErasableTables.Contains(table) && table != "audit")
        {
            throw new ArgumentException($"Unknown table '{table}'.", nameof(table));
        }

        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, $"SELECT count(*) FROM {table}");
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private async Task<List<T>> ReadJsonAsync<T>(string sql, CancellationToken ct, params object?[] args)
    {
        await using var connection = await OpenReadAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, sql, args);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var items = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            items.Add(JsonSerializer.Deserialize<T>(reader.GetString(0), Json)!);
        }

        return items;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await writer.DisposeAsync().ConfigureAwait(false);
        // Fold the WAL back into the database so that a clean shutdown leaves one file.
        try
        {
            ExecutePragmas(writeConnection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (SqliteException ex)
        {
            LogCheckpointFailed(ex);
        }

        await writeConnection.DisposeAsync().ConfigureAwait(false);
        using (var any = new SqliteConnection(readConnectionString))
        {
            SqliteConnection.ClearPool(any);
        }

        LogClosed(DatabasePath);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage opened {Path} (schema {Version}, WAL, synchronous {Synchronous})")]
    private partial void LogOpened(string path, int version, string synchronous);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage closed {Path}")]
    private partial void LogClosed(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage WAL checkpoint at shutdown failed")]
    private partial void LogCheckpointFailed(Exception exception);
}
