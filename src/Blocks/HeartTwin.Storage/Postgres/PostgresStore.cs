using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Storage.Compression;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;

namespace HeartTwin.Storage.Postgres;

/// <summary>
/// The PostgreSQL store: the same tables, keys and answers as <see cref="Sqlite.SqliteStore"/>, for a twin whose blocks run as
/// several services (replicas share the database). Writes go through <see cref="PostgresGroupCommitWriter"/> (one transaction for
/// many writes, completed only after COMMIT); reads use the pooled data source. Transient failures are retried with Polly, so a
/// PostgreSQL restart delays writes instead of losing them. Migrations run at start under an advisory lock.
/// </summary>
internal sealed partial class PostgresStore : ITwinStore
{
    private static readonly string ZeroHash = new('0', 64);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly string[] ErasableTables =
        ["sample_chunks", "beats", "windows", "vitals", "gaps", "commands", "actions", "twin_states", "devices", "patients"];

    private static readonly (string Table, string Column)[] RetainedTables =
    [
        ("sample_chunks", "received_ticks"), ("beats", "received_ticks"), ("windows", "received_ticks"), ("vitals", "received_ticks"), ("gaps", "detected_ticks"),
    ];

    private readonly NpgsqlDataSource dataSource;
    private readonly PostgresGroupCommitWriter writer;
    private readonly ResiliencePipeline retry;
    private readonly StorageOptions options;
    private readonly StorageStats stats;
    private readonly TimeProvider time;
    private readonly ILogger<PostgresStore> logger;
    private int disposed;

    public PostgresStore(IOptions<StorageOptions> options, StorageStats stats, TimeProvider time, ILogger<PostgresStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.stats = stats;
        this.time = time;
        this.logger = logger;
        string connectionString = this.options.ConnectionString
            ?? throw new InvalidOperationException("Storage:ConnectionString is required when Storage:Provider is \"Postgres\".");
        dataSource = PostgresConnection.CreateDataSource(connectionString);
        retry = PostgresConnection.CreateRetry(this.options.RetryAttempts, (ex, attempt) => LogRetrying(attempt, this.options.RetryAttempts, ex));
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        Target = $"{settings.Host}:{settings.Port.ToString(CultureInfo.InvariantCulture)}/{settings.Database ?? settings.Username}";
        try
        {
            // At start, as SQLite's: the host does not serve until the schema is there (and fails if the server never answers).
            int version = retry.ExecuteAsync(async ct => await PostgresMigrator.MigrateAsync(dataSource, ct).ConfigureAwait(false)).AsTask().GetAwaiter().GetResult();
            LogOpened(Target, version);
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }

        writer = new PostgresGroupCommitWriter(dataSource, this.options.MaxWritesPerTransaction, retry, stats, logger);
    }

    /// <summary>Host, port and database, for logs (never the password).</summary>
    public string Target { get; }

    // ------------------------------------------------------------------ writes

    public Task RegisterDeviceAsync(DeviceRegistered m, CancellationToken ct) => Counted(writer.WriteAsync((db, c) => db.ExecuteBatchAsync(
    [
        ("INSERT INTO patients (patient_id, created_ticks) VALUES ($1, $2) ON CONFLICT DO NOTHING", [m.PatientId, m.RegisteredAt.UtcTicks]),
        ("""
         INSERT INTO devices (device_id, patient_id, kind, registered_ticks) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id) DO UPDATE SET patient_id = excluded.patient_id, kind = excluded.kind, registered_ticks = excluded.registered_ticks
         """, [m.DeviceId, m.PatientId, m.Kind, m.RegisteredAt.UtcTicks]),
    ], c), ct), countDuplicate: false);

    public async Task<bool> StoreSamplesAsync(SamplesReceived m, CancellationToken ct)
    {
        // Checked and compressed on the caller's thread (handlers run concurrently); the writer only inserts.
        var (blob, perLead, endTicks, leads) = EncodedChunk.From(m, options.CodecBlockSize);
        var outcome = await writer.WriteChunkAsync(
            new ChunkRow(m.DeviceId, m.Sequence, m.PatientId, m.StartTime.UtcTicks, endTicks, m.SampleRateHz, perLead, leads, blob, m.ReceivedAt.UtcTicks), ct)
            .ConfigureAwait(false);
        if (outcome.Inserted)
        {
            stats.RecordRows(outcome.RowsChanged);
            stats.RecordChunk((long)perLead * m.Samples.Length, blob.Length);
        }
        else
        {
            stats.RecordDuplicate();
        }

        return outcome.Inserted;
    }

    public Task StoreBeatsAsync(BeatsAcquired m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        // The class may already be there (AnalysisCompleted came first); keep it, fill in what acquisition knows.
        var statements = m.Beats.Select(beat => (
            """
            INSERT INTO beats (device_id, time_ticks, patient_id, rr_ms, lead, sequence, received_ticks) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (device_id, time_ticks) DO UPDATE SET rr_ms = excluded.rr_ms, lead = excluded.lead, sequence = excluded.sequence
            WHERE beats.sequence IS NULL
            """,
            new object?[] { m.DeviceId, beat.Time.UtcTicks, m.PatientId, beat.RrMs, beat.Lead, m.Sequence, m.SourceReceivedAt.UtcTicks })).ToList();
        return Counted(writer.WriteAsync((db, c) => db.ExecuteBatchAsync(statements, c), ct), countDuplicate: false);
    }

    public Task StoreAnalysisAsync(AnalysisCompleted m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        string state = JsonSerializer.Serialize(m.State, Json);
        long now = time.GetUtcNow().UtcTicks;
        var statements = new List<(string, object?[])>
        {
            ("INSERT INTO patients (patient_id, created_ticks) VALUES ($1, $2) ON CONFLICT DO NOTHING", [m.PatientId, now]),
            ("""
             INSERT INTO twin_states (patient_id, updated_ticks, state) VALUES ($1, $2, $3)
             ON CONFLICT (patient_id) DO UPDATE SET updated_ticks = excluded.updated_ticks, state = excluded.state
             WHERE excluded.updated_ticks >= twin_states.updated_ticks
             """, [m.PatientId, m.State.UpdatedAt.UtcTicks, state]),
        };
        foreach (var beat in m.Beats)
        {
            statements.Add(m.DeviceId is null
                ? ("UPDATE beats SET class = $3, confidence = $4, model_id = $5 WHERE patient_id = $1 AND time_ticks = $2",
                    [m.PatientId, beat.Time.UtcTicks, beat.Class, beat.Confidence, m.State.ModelId])
                : ("""
                   INSERT INTO beats (device_id, time_ticks, patient_id, rr_ms, lead, class, confidence, model_id, received_ticks) VALUES ($1, $2, $3, 0, '', $4, $5, $6, $7)
                   ON CONFLICT (device_id, time_ticks) DO UPDATE SET class = excluded.class, confidence = excluded.confidence, model_id = excluded.model_id
                   """, [m.DeviceId, beat.Time.UtcTicks, m.PatientId, beat.Class, beat.Confidence, m.State.ModelId, now]));
        }

        return Counted(writer.WriteAsync((db, c) => db.ExecuteBatchAsync(statements, c), ct), countDuplicate: false);
    }

    public Task StoreWindowAsync(WindowAcquired m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        string payload = JsonSerializer.Serialize(m, Json);
        return Counted(writer.WriteAsync((db, c) => db.ExecuteAsync(
            """
            INSERT INTO windows (device_id, window_sequence, patient_id, start_ticks, end_ticks, received_ticks, payload)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
            """,
            c, m.DeviceId, m.WindowSequence, m.PatientId, m.Start.UtcTicks, m.End.UtcTicks, m.SourceReceivedAt.UtcTicks, payload), ct));
    }

    public Task StoreVitalsAsync(VitalsReceived m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        var statements = m.Observations.Select((o, i) => (
            """
            INSERT INTO vitals (device_id, sequence, idx, patient_id, code, value, unit, time_ticks, received_ticks)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
            """,
            new object?[] { m.DeviceId, m.Sequence, i, m.PatientId, o.Code, o.Value, o.Unit, o.Time.UtcTicks, m.ReceivedAt.UtcTicks })).ToList();
        return Counted(writer.WriteAsync((db, c) => db.ExecuteBatchAsync(statements, c), ct));
    }

    public Task StoreGapAsync(SequenceGapDetected m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        return Counted(writer.WriteAsync((db, c) => db.ExecuteAsync(
            """
            INSERT INTO gaps (device_id, expected_sequence, patient_id, received_sequence, detected_ticks) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
            """,
            c, m.DeviceId, m.ExpectedSequence, m.PatientId, m.ReceivedSequence, m.DetectedAt.UtcTicks), ct));
    }

    public Task StoreProposalAsync(ActionProposed m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        string proposal = JsonSerializer.Serialize(m, Json);
        return Counted(writer.WriteAsync((db, c) => db.ExecuteAsync(
            "INSERT INTO actions (action_id, patient_id, occurred_ticks, proposal) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            c, m.ActionId, m.PatientId, m.OccurredAt.UtcTicks, proposal), ct));
    }

    public Task StoreDecisionAsync(ActionDecided m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        string proposal = JsonSerializer.Serialize(m.Proposal, Json);
        string decision = JsonSerializer.Serialize(m, Json);
        // The decision carries its proposal, so it stores the action even if ActionProposed has not arrived (yet).
        return Counted(writer.WriteAsync((db, c) => db.ExecuteAsync(
            """
            INSERT INTO actions (action_id, patient_id, occurred_ticks, proposal, decision) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (action_id) DO UPDATE SET decision = excluded.decision
            """,
            c, m.Proposal.ActionId, m.PatientId, m.Proposal.OccurredAt.UtcTicks, proposal, decision), ct));
    }

    public Task StoreCommandStatusAsync(CommandStatusChanged m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        string status = JsonSerializer.Serialize(m, Json);
        // Latest wins, by time and then by attempts, whatever order the changes arrive in.
        return Counted(writer.WriteAsync((db, c) => db.ExecuteAsync(
            """
            INSERT INTO commands (command_id, action_id, patient_id, updated_ticks, attempts, status) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (command_id) DO UPDATE SET updated_ticks = excluded.updated_ticks, attempts = excluded.attempts, status = excluded.status
            WHERE excluded.updated_ticks > commands.updated_ticks
               OR (excluded.updated_ticks = commands.updated_ticks AND excluded.attempts >= commands.attempts)
            """,
            c, m.CommandId, m.ActionId, m.PatientId, m.UpdatedAt.UtcTicks, m.Attempts, status), ct));
    }

    public Task StoreAuditAsync(AuditRecorded m, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        return Counted(writer.WriteAsync(async (db, c) =>
        {
            // ON CONFLICT DO NOTHING with no target also absorbs a clash on the unique hash, as SQLite's INSERT OR IGNORE does.
            int changed = await db.ExecuteAsync(
                """
                INSERT INTO audit (sequence, time_ticks, category, actor, patient_id, subject, allowed, rule, reason, policy_version, previous_hash, hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING
                """,
                c, m.Sequence, m.Time.UtcTicks, m.Category, m.Actor, m.PatientId, m.Subject, m.Allowed, m.Rule, m.Reason, m.PolicyVersion, m.PreviousHash, m.Hash)
                .ConfigureAwait(false);
            if (changed == 0)
            {
                var stored = await db.ScalarAsync("SELECT hash FROM audit WHERE sequence = $1", c, m.Sequence).ConfigureAwait(false) as string;
                if (!string.Equals(stored, m.Hash, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException(
                        $"Audit entry {m.Sequence.ToString(CultureInfo.InvariantCulture)} conflicts with the stored one (hash {stored ?? "(another sequence holds it)"}, got {m.Hash}); the trail is append-only.");
                }
            }

            return changed;
        }, ct));
    }

    public Task<long> ErasePatientAsync(string patientId, CancellationToken ct) => writer.WriteAsync(async (db, c) =>
        (long)await db.ExecuteBatchAsync([.. ErasableTables.Select(table => ($"DELETE FROM {table} WHERE patient_id = $1", new object?[] { patientId }))], c)
            .ConfigureAwait(false), ct);

    /// <summary>Deletes samples, beats, windows, vitals and gaps received before <paramref name="cutoff"/>, in small transactions so writers keep flowing.</summary>
    public async Task<long> DeleteReceivedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        const int Slice = 5_000;
        long total = 0;
        foreach (var (table, column) in RetainedTables)
        {
            // ctid is PostgreSQL's row address, as SQLite's rowid: a slice is found and deleted in one statement.
            string sql = $"DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE {column} < $1 LIMIT {Slice.ToString(CultureInfo.InvariantCulture)}))";
            int deleted;
            do
            {
                ct.ThrowIfCancellationRequested();
                deleted = await writer.WriteAsync((db, c) => db.ExecuteAsync(sql, c, cutoff.UtcTicks), ct).ConfigureAwait(false);
                total += deleted;
            }
            while (deleted == Slice);
        }

        return total;
    }

    private async Task<int> Counted(Task<int> write, bool countDuplicate = true)
    {
        // Counted after the commit: a transaction run again after a transient failure must not count twice.
        int changed = await write.ConfigureAwait(false);
        if (changed > 0)
        {
            stats.RecordRows(changed);
        }
        else if (countDuplicate)
        {
            stats.RecordDuplicate();
        }

        return changed;
    }

    // ------------------------------------------------------------------ reads

    /// <summary>Runs a read on a pooled connection, again on a fresh one if it failed transiently (reads change nothing).</summary>
    private ValueTask<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> read, CancellationToken ct) =>
        retry.ExecuteAsync(async c =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(c).ConfigureAwait(false);
            return await read(connection, c).ConfigureAwait(false);
        }, ct);

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object?[] args)
    {
#pragma warning disable CA2100 // Statements are constants of this block; values always travel as parameters.
        var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg ?? DBNull.Value });
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

        return await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                """
                SELECT c.device_id, c.sequence, c.start_ticks, c.rate_hz, c.samples_per_lead, l.leads, c.codec, c.data
                FROM sample_chunks c JOIN lead_sets l ON l.lead_set_id = c.lead_set_id
                WHERE c.patient_id = $1 AND c.end_ticks > $2 AND c.start_ticks < $3
                ORDER BY c.start_ticks, c.device_id, c.sequence
                """,
                q.PatientId, q.From.UtcTicks, q.To.UtcTicks);
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var chunks = new SampleChunkReader(q);
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                chunks.Add(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3), reader.GetInt32(4), reader.GetString(5),
                    reader.GetString(6), () => reader.GetFieldValue<byte[]>(7));
            }

            return new SamplesResult(chunks.Segments);
        }, ct).ConfigureAwait(false);
    }

    public async Task<BeatsResult> QueryBeatsAsync(BeatsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        return await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                """
                SELECT device_id, time_ticks, rr_ms, class, confidence, model_id FROM beats
                WHERE patient_id = $1 AND time_ticks >= $2 AND time_ticks < $3 ORDER BY time_ticks, device_id LIMIT $4
                """,
                q.PatientId, q.From.UtcTicks, q.To.UtcTicks, (long)q.Limit);
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var beats = new List<StoredBeat>();
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                beats.Add(new StoredBeat(reader.GetString(0), Time(reader.GetInt64(1)), reader.GetDouble(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
            }

            return new BeatsResult(beats);
        }, ct).ConfigureAwait(false);
    }

    public async Task<WindowsResult> QueryWindowsAsync(WindowsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        string order = q.Latest ? "DESC" : "ASC";
        var windows = await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                $"SELECT payload FROM windows WHERE patient_id = $1 AND start_ticks >= $2 AND start_ticks < $3 ORDER BY start_ticks {order}, device_id {order} LIMIT $4",
                q.PatientId, q.From.UtcTicks, q.To.UtcTicks, (long)q.Limit);
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var items = new List<WindowAcquired>();
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                items.Add(JsonSerializer.Deserialize<WindowAcquired>(reader.GetString(0), Json)!);
            }

            return items;
        }, ct).ConfigureAwait(false);
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
        var actions = await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                """
                SELECT a.proposal, a.decision,
                       (SELECT cm.status FROM commands cm WHERE cm.action_id = a.action_id ORDER BY cm.updated_ticks DESC, cm.attempts DESC LIMIT 1)
                FROM actions a
                WHERE a.patient_id = $1 AND a.occurred_ticks >= $2 AND a.occurred_ticks < $3
                ORDER BY a.occurred_ticks DESC, a.action_id DESC LIMIT $4
                """,
                q.PatientId, q.From.UtcTicks, q.To.UtcTicks, (long)q.Limit);
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var items = new List<StoredAction>();
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                items.Add(new StoredAction(
                    JsonSerializer.Deserialize<ActionProposed>(reader.GetString(0), Json)!,
                    reader.IsDBNull(1) ? null : JsonSerializer.Deserialize<ActionDecided>(reader.GetString(1), Json),
                    reader.IsDBNull(2) ? null : JsonSerializer.Deserialize<CommandStatusChanged>(reader.GetString(2), Json)));
            }

            return items;
        }, ct).ConfigureAwait(false);
        actions.Reverse();
        return new EventsResult(actions);
    }

    public async Task<AuditResult> QueryAuditAsync(AuditQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        // Limit 0 asks only for the trail's head (the Policy continues the chain from it).
        ArgumentOutOfRangeException.ThrowIfNegative(q.Limit, nameof(q.Limit));
        return await ReadAsync(async (connection, c) =>
        {
            // One repeatable-read transaction, so that the entries and the trail's head are one consistent snapshot.
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, c).ConfigureAwait(false);
            var entries = new List<AuditRecorded>();
            await using (var command = Command(connection,
                """
                SELECT sequence, time_ticks, category, actor, patient_id, subject, allowed, rule, reason, policy_version, previous_hash, hash FROM audit
                WHERE sequence >= $1 AND ($2::text IS NULL OR patient_id = $2::text) ORDER BY sequence LIMIT $3
                """,
                q.FromSequence, q.PatientId, (long)q.Limit))
            {
                command.Transaction = transaction;
                await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
                while (await reader.ReadAsync(c).ConfigureAwait(false))
                {
                    entries.Add(new AuditRecorded(reader.GetInt64(0), Time(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                        reader.GetString(5), reader.GetBoolean(6), reader.GetString(7), reader.GetString(8), reader.GetString(9), reader.GetString(10), reader.GetString(11)));
                }
            }

            await using var last = Command(connection, "SELECT sequence, hash FROM audit ORDER BY sequence DESC LIMIT 1");
            last.Transaction = transaction;
            await using var head = await last.ExecuteReaderAsync(c).ConfigureAwait(false);
            return await head.ReadAsync(c).ConfigureAwait(false)
                ? new AuditResult(entries, head.GetInt64(0), head.GetString(1))
                : new AuditResult(entries, 0, ZeroHash);
        }, ct).ConfigureAwait(false);
    }

    public async Task<PatientsResult> QueryPatientsAsync(PatientsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        // The listed ids travel as one array parameter, not as SQL text.
        string[]? filter = q.PatientIds?.ToArray();
        return await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                """
                SELECT p.patient_id, s.state, ARRAY(SELECT d.device_id FROM devices d WHERE d.patient_id = p.patient_id ORDER BY d.device_id)
                FROM patients p LEFT JOIN twin_states s ON s.patient_id = p.patient_id
                WHERE $1::text[] IS NULL OR p.patient_id = ANY ($1::text[])
                ORDER BY p.patient_id
                """);
            command.Parameters.Add(new NpgsqlParameter<string[]?> { TypedValue = filter, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var patients = new List<PatientSummary>();
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                patients.Add(new PatientSummary(reader.GetString(0), reader.GetFieldValue<string[]>(2),
                    reader.IsDBNull(1) ? null : JsonSerializer.Deserialize<TwinState>(reader.GetString(1), Json)));
            }

            return new PatientsResult(patients);
        }, ct).ConfigureAwait(false);
    }

    public async Task<VitalsResult> QueryVitalsAsync(VitalsQuery q, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q.Limit, nameof(q.Limit));
        var observations = await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection,
                """
                SELECT device_id, code, value, unit, time_ticks FROM vitals
                WHERE patient_id = $1 AND time_ticks >= $2 AND time_ticks < $3 ORDER BY time_ticks DESC, device_id DESC, sequence DESC, idx DESC LIMIT $4
                """,
                q.PatientId, q.From.UtcTicks, q.To.UtcTicks, (long)q.Limit);
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            var items = new List<(string, VitalObservation)>();
            while (await reader.ReadAsync(c).ConfigureAwait(false))
            {
                items.Add((reader.GetString(0), new VitalObservation(reader.GetString(1), reader.GetDouble(2), reader.GetString(3), Time(reader.GetInt64(4)))));
            }

            return items;
        }, ct).ConfigureAwait(false);
        observations.Reverse();
        return new VitalsResult(observations);
    }

    /// <summary>Rows in a table (for tests and diagnostics; the table name is checked against the schema's).</summary>
    public async Task<long> CountAsync(string table, CancellationToken ct = default)
    {
        if (!ErasableTables.Contains(table) && table != "audit" && table != "lead_sets")
        {
            throw new ArgumentException($"Unknown table '{table}'.", nameof(table));
        }

        return await ReadAsync(async (connection, c) =>
        {
            await using var command = Command(connection, $"SELECT count(*) FROM {table}");
            return Convert.ToInt64(await command.ExecuteScalarAsync(c).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await writer.DisposeAsync().ConfigureAwait(false);
        await dataSource.DisposeAsync().ConfigureAwait(false);
        LogClosed(Target);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage opened PostgreSQL {Target} (schema {Version})")]
    private partial void LogOpened(string target, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage closed PostgreSQL {Target}")]
    private partial void LogClosed(string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL failed transiently; retry {Attempt} of {Attempts}")]
    private partial void LogRetrying(int attempt, int attempts, Exception? exception);
}
