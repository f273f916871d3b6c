using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HeartTwin.Sharing.Webhooks;

/// <summary>
/// Sharing's own durable state in <c>sharing.db</c> (SQLite, WAL): webhook subscriptions, the delivery outbox
/// (so that a delivery survives a restart and is retried), and the inbox of shares other twins delivered.
/// Subscriptions are also held in memory, because every event on the bus is matched against them.
/// </summary>
internal sealed class SharingStore : IDisposable
{
    private readonly string connectionString;
    private readonly Lock gate = new();
    private ImmutableArray<WebhookSubscription> subscriptions;

    public SharingStore(IOptions<SharingOptions> options)
    {
        string dir = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(dir);
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, "sharing.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var db = Open();
        Execute(db, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            CREATE TABLE IF NOT EXISTS subscriptions(
              id TEXT PRIMARY KEY, recipient_id TEXT NOT NULL, callback_url TEXT NOT NULL, patients TEXT NOT NULL, categories TEXT NOT NULL,
              secret TEXT NULL, callback_token TEXT NULL, created_by TEXT NOT NULL, creator_scopes TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS deliveries(
              id TEXT PRIMARY KEY, subscription_id TEXT NOT NULL, patient_id TEXT NOT NULL, category TEXT NOT NULL, event TEXT NOT NULL,
              payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL,
              last_error TEXT NULL, created_at TEXT NOT NULL, finished_at TEXT NULL);
            CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_ms);
            CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id);
            CREATE TABLE IF NOT EXISTS inbox(
              id TEXT PRIMARY KEY, sender TEXT NOT NULL, patient_id TEXT NOT NULL, category TEXT NOT NULL, event TEXT NOT NULL,
              occurred_at TEXT NULL, received_at TEXT NOT NULL, signature_verified INTEGER NOT NULL, envelope TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS inbox_patient ON inbox(patient_id, received_at);
            """);
        subscriptions = [.. LoadSubscriptions(db)];
    }

    /// <summary>Every subscription (a snapshot; cheap to read on every event).</summary>
    public ImmutableArray<WebhookSubscription> Subscriptions => subscriptions;

    public void AddSubscription(WebhookSubscription s)
    {
        using var db = Open();
        Execute(db, """
            INSERT INTO subscriptions(id, recipient_id, callback_url, patients, categories, secret, callback_token, created_by, creator_scopes, created_at)
            VALUES($id, $r, $u, $p, $c, $s, $t, $by, $sc, $at)
            """,
            ("$id", s.Id), ("$r", s.RecipientId), ("$u", s.CallbackUrl.ToString()), ("$p", Json(s.Patients)), ("$c", Json(s.Categories)),
            ("$s", s.Secret), ("$t", s.CallbackToken), ("$by", s.CreatedBy), ("$sc", Json(s.CreatorScopes)), ("$at", Time(s.CreatedAt)));
        lock (gate)
        {
            subscriptions = subscriptions.Add(s);
        }
    }

    public WebhookSubscription? FindSubscription(string id) => subscriptions.FirstOrDefault(s => s.Id == id);

    /// <summary>Deletes a subscription and its undelivered deliveries (delivered ones stay as history until the patient is erased).</summary>
    public bool DeleteSubscription(string id)
    {
        using var db = Open();
        using var tx = db.BeginTransaction();
        Execute(db, "DELETE FROM deliveries WHERE subscription_id = $id AND status = 'pending'", ("$id", id));
        int n = Execute(db, "DELETE FROM subscriptions WHERE id = $id", ("$id", id));
        tx.Commit();
        lock (gate)
        {
            subscriptions = subscriptions.RemoveAll(s => s.Id == id);
        }

        return n > 0;
    }

    public IReadOnlyDictionary<string, long> DeliveryCounts(string subscriptionId)
    {
        using var db = Open();
        using var cmd = Command(db, "SELECT status, COUNT(*) FROM deliveries WHERE subscription_id = $id GROUP BY status", ("$id", subscriptionId));
        using var r = cmd.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (r.Read())
        {
            counts[r.GetString(0)] = r.GetInt64(1);
        }

        return counts;
    }

    /// <summary>Queues deliveries; a delivery id seen before is ignored (the bus delivers at least once).</summary>
    public int Enqueue(IReadOnlyList<PendingDelivery> deliveries, DateTimeOffset now)
    {
        using var db = Open();
        using var tx = db.BeginTransaction();
        int added = 0;
        foreach (var d in deliveries)
        {
            added += Execute(db, """
                INSERT OR IGNORE INTO deliveries(id, subscription_id, patient_id, category, event, payload, status, attempts, next_attempt_ms, created_at)
                VALUES($id, $s, $p, $c, $e, $payload, 'pending', 0, $due, $at)
                """,
                ("$id", d.Id), ("$s", d.SubscriptionId), ("$p", d.PatientId), ("$c", d.Category), ("$e", d.Event), ("$payload", d.Payload),
                ("$due", now.ToUnixTimeMilliseconds()), ("$at", Time(now)));
        }

        tx.Commit();
        return added;
    }

    public IReadOnlyList<PendingDelivery> DueDeliveries(DateTimeOffset now, int limit)
    {
        using var db = Open();
        using var cmd = Command(db, """
            SELECT id, subscription_id, patient_id, category, event, payload, attempts FROM deliveries
            WHERE status = 'pending' AND next_attempt_ms <= $now ORDER BY next_attempt_ms, rowid LIMIT $limit
            """, ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit));
        using var r = cmd.ExecuteReader();
        var list = new List<PendingDelivery>();
        while (r.Read())
        {
            list.Add(new PendingDelivery(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6)));
        }

        return list;
    }

    /// <summary>Records an attempt: a final status, or pending again with the next attempt's time.</summary>
    public void RecordAttempt(string id, string status, int attempts, DateTimeOffset nextAttempt, string? error, DateTimeOffset now)
    {
        using var db = Open();
        Execute(db, """
            UPDATE deliveries SET status = $st, attempts = $a, next_attempt_ms = $due, last_error = $err,
              finished_at = CASE WHEN $st = 'pending' THEN NULL ELSE $now END
            WHERE id = $id
            """,
            ("$id", id), ("$st", status), ("$a", attempts), ("$due", nextAttempt.ToUnixTimeMilliseconds()), ("$err", error), ("$now", Time(now)));
    }

    /// <summary>Stores a share another twin delivered. False when that delivery id is already stored (a retry).</summary>
    public bool AddInbox(InboxEntry e)
    {
        using var db = Open();
        return Execute(db, """
            INSERT OR IGNORE INTO inbox(id, sender, patient_id, category, event, occurred_at, received_at, signature_verified, envelope)
            VALUES($id, $s, $p, $c, $e, $o, $r, $v, $env)
            """,
            ("$id", e.Id), ("$s", e.Sender), ("$p", e.PatientId), ("$c", e.Category), ("$e", e.Event),
            ("$o", e.OccurredAt is { } o ? Time(o) : null), ("$r", Time(e.ReceivedAt)), ("$v", e.SignatureVerified ? 1 : 0),
            ("$env", e.Envelope.GetRawText())) > 0;
    }

    /// <summary>Inbox entries in arrival order; only the listed patients when <paramref name="patients"/> is not null.</summary>
    public IReadOnlyList<InboxEntry> Inbox(IReadOnlyCollection<string>? patients, string? patientId, DateTimeOffset? since, int limit)
    {
        using var db = Open();
        var sql = "SELECT id, sender, patient_id, category, event, occurred_at, received_at, signature_verified, envelope FROM inbox WHERE received_at >= $since";
        if (patientId is not null)
        {
            sql += " AND patient_id = $p";
        }

        sql += " ORDER BY received_at, rowid LIMIT $limit";
        using var cmd = Command(db, sql, ("$since", Time(since ?? DateTimeOffset.UnixEpoch)), ("$p", patientId), ("$limit", limit));
        using var r = cmd.ExecuteReader();
        var list = new List<InboxEntry>();
        while (r.Read())
        {
            string pid = r.GetString(2);
            if (patients is not null && !patients.Contains(pid))
            {
                continue;
            }

            using var env = JsonDocument.Parse(r.GetString(8));
            list.Add(new InboxEntry(r.GetString(0), r.GetString(1), pid, r.GetString(3), r.GetString(4),
                r.IsDBNull(5) ? null : ParseTime(r.GetString(5)), ParseTime(r.GetString(6)), r.GetInt64(7) != 0, env.RootElement.Clone()));
        }

        return list;
    }

    /// <summary>Erases a patient from the outbox and the inbox (GDPR); returns the rows removed.</summary>
    public long ErasePatient(string patientId)
    {
        using var db = Open();
        using var tx = db.BeginTransaction();
        long n = Execute(db, "DELETE FROM deliveries WHERE patient_id = $p", ("$p", patientId));
        n += Execute(db, "DELETE FROM inbox WHERE patient_id = $p", ("$p", patientId));
        tx.Commit();
        return n;
    }

    public void Dispose() => SqliteConnection.ClearAllPools();

    private SqliteConnection Open()
    {
        var db = new SqliteConnection(connectionString);
        db.Open();
        return db;
    }

    private static List<WebhookSubscription> LoadSubscriptions(SqliteConnection db)
    {
        using var cmd = Command(db, "SELECT id, recipient_id, callback_url, patients, categories, secret, callback_token, created_by, creator_scopes, created_at FROM subscriptions ORDER BY created_at");
        using var r = cmd.ExecuteReader();
        var list = new List<WebhookSubscription>();
        while (r.Read())
        {
            list.Add(new WebhookSubscription(r.GetString(0), r.GetString(1), new Uri(r.GetString(2)), Strings(r.GetString(3)), Strings(r.GetString(4)),
                r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7), Strings(r.GetString(8)), ParseTime(r.GetString(9))));
        }

        return list;
    }

    private static SqliteCommand Command(SqliteConnection db, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    private static int Execute(SqliteConnection db, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(db, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize(values);

    private static string[] Strings(string json) => JsonSerializer.Deserialize<string[]>(json) ?? [];

    // Fixed-width UTC round-trip text sorts in time order, so range filters work on the text column.
    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
