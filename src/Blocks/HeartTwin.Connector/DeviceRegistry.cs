using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HeartTwin.Connector;

/// <summary>A registered device and what the Connector tracks about it at run time.</summary>
internal sealed class DeviceState(string deviceId, string patientId, string kind, byte[] tokenHash, byte[] passwordHash, long? lastSequence, long gaps, DateTimeOffset createdAt)
{
    public string DeviceId { get; } = deviceId;
    public string PatientId { get; } = patientId;
    public string Kind { get; set; } = kind;
    public byte[] TokenHash { get; set; } = tokenHash;
    public byte[] PasswordHash { get; set; } = passwordHash;
    public DateTimeOffset CreatedAt { get; } = createdAt;

    /// <summary>One batch at a time per device, whichever transport it came by, so sequence checks see a consistent order.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    // Written under Gate by ingestion and read by status queries without it: nullable structs can tear, so a small lock.
    private readonly Lock sync = new();
    private long? lastSequence = lastSequence;
    private long gaps = gaps;
    private DateTimeOffset? lastSeenAt;
    private double? batteryPercent;

    public long? LastSequence { get { lock (sync) { return lastSequence; } } set { lock (sync) { lastSequence = value; } } }
    public long Gaps { get { lock (sync) { return gaps; } } set { lock (sync) { gaps = value; } } }
    public DateTimeOffset? LastSeenAt { get { lock (sync) { return lastSeenAt; } } set { lock (sync) { lastSeenAt = value; } } }
    public double? BatteryPercent { get { lock (sync) { return batteryPercent; } } set { lock (sync) { batteryPercent = value; } } }
    private long rejected;
    private long duplicates;
    private int mqttConnections;
    public long Rejected => Interlocked.Read(ref rejected);
    public long Duplicates => Interlocked.Read(ref duplicates);
    public int MqttConnections => Volatile.Read(ref mqttConnections);

    public void CountRejected() => Interlocked.Increment(ref rejected);
    public void CountDuplicate() => Interlocked.Increment(ref duplicates);
    public int MqttConnected() => Interlocked.Increment(ref mqttConnections);
    public int MqttDisconnected() => Interlocked.Decrement(ref mqttConnections);
}

/// <summary>
/// The device registry: devices, their patients and credential hashes, and the last accepted sequence, in SQLite
/// (<c>connector.db</c>, WAL) with the whole table mirrored in memory (it is small and read on every batch).
/// Secrets are random 256-/192-bit values, so a plain SHA-256 is enough (no password stretching is needed for them).
/// </summary>
internal sealed class DeviceRegistry : IDisposable
{
    private readonly SqliteConnection db;
    private readonly Lock dbLock = new();
    private readonly ConcurrentDictionary<string, DeviceState> devices = new(StringComparer.Ordinal);
    // Token hash (hex) → device, to tell "another device's token" (403) from "no device's token" (401).
    private readonly ConcurrentDictionary<string, string> tokenOwners = new(StringComparer.Ordinal);
    // Devices whose accepted sequence is not yet written (see SaveProgress).
    private readonly ConcurrentDictionary<string, byte> dirty = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private readonly Task flushLoop;

    public DeviceRegistry(IOptions<ConnectorOptions> options)
    {
        string dir = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(dir);
        db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dir, "connector.db"), Pooling = false }.ToString());
        db.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
        Execute("""
            CREATE TABLE IF NOT EXISTS devices (
              device_id TEXT PRIMARY KEY,
              patient_id TEXT NOT NULL,
              kind TEXT NOT NULL,
              token_hash BLOB NOT NULL,
              password_hash BLOB NOT NULL,
              last_sequence INTEGER NULL,
              gaps INTEGER NOT NULL DEFAULT 0,
              created_at TEXT NOT NULL)
            """);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT device_id, patient_id, kind, token_hash, password_hash, last_sequence, gaps, created_at FROM devices";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var state = new DeviceState(r.GetString(0), r.GetString(1), r.GetString(2), (byte[])r[3], (byte[])r[4],
                r.IsDBNull(5) ? null : r.GetInt64(5), r.GetInt64(6), DateTimeOffset.Parse(r.GetString(7), CultureInfo.InvariantCulture));
            devices[state.DeviceId] = state;
            tokenOwners[Convert.ToHexString(state.TokenHash)] = state.DeviceId;
        }

        flushLoop = Task.Run(FlushLoopAsync);
    }

    public IEnumerable<DeviceState> All => devices.Values.OrderBy(d => d.DeviceId, StringComparer.Ordinal);

    public DeviceState? Find(string deviceId) => devices.GetValueOrDefault(deviceId);

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Creates a device (or, with <paramref name="rotate"/>, gives an existing one new secrets). Null when it exists and rotate is false.</summary>
    public (DeviceState State, string Token, string Password)? Register(string deviceId, string patientId, string kind, bool rotate, DateTimeOffset now)
    {
        string token = "htd_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        string password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        byte[] tokenHash = Hash(token), passwordHash = Hash(password);
        lock (dbLock)
        {
            if (devices.TryGetValue(deviceId, out var existing))
            {
                if (!rotate)
                {
                    return null;
                }

                using var update = Command("UPDATE devices SET kind=$kind, token_hash=$t, password_hash=$p WHERE device_id=$id",
                    ("$kind", kind), ("$t", tokenHash), ("$p", passwordHash), ("$id", deviceId));
                update.ExecuteNonQuery();
                tokenOwners.TryRemove(Convert.ToHexString(existing.TokenHash), out _);
                existing.Kind = kind;
                existing.TokenHash = tokenHash;
                existing.PasswordHash = passwordHash;
                tokenOwners[Convert.ToHexString(tokenHash)] = deviceId;
                return (existing, token, password);
            }

            using var insert = Command("INSERT INTO devices(device_id, patient_id, kind, token_hash, password_hash, created_at) VALUES($id, $patient, $kind, $t, $p, $at)",
                ("$id", deviceId), ("$patient", patientId), ("$kind", kind), ("$t", tokenHash), ("$p", passwordHash), ("$at", now.ToString("O", CultureInfo.InvariantCulture)));
            insert.ExecuteNonQuery();
            var state = new DeviceState(deviceId, patientId, kind, tokenHash, passwordHash, null, 0, now);
            devices[deviceId] = state;
            tokenOwners[Convert.ToHexString(tokenHash)] = deviceId;
            return (state, token, password);
        }
    }

    /// <summary>Checks an HTTP bearer token against a device: null when it is that device's, else 401 (no device's) or 403 (another device's).</summary>
    public Rejection? Authenticate(string deviceId, string? token, out DeviceState? device)
    {
        device = null;
        if (string.IsNullOrEmpty(token))
        {
            return Rejection.Of(ErrorCodes.Unauthorized, 401, $"A device bearer token is required (Authorization: Bearer <token>).");
        }

        byte[] hash = Hash(token);
        var candidate = Find(deviceId);
        if (candidate is not null && CryptographicOperations.FixedTimeEquals(hash, candidate.TokenHash))
        {
            device = candidate;
            return null;
        }

        return tokenOwners.ContainsKey(Convert.ToHexString(hash))
            ? Rejection.Of(ErrorCodes.Forbidden, 403, $"This token belongs to another device; it may not act for '{deviceId}'.")
            : Rejection.Of(ErrorCodes.Unauthorized, 401, $"The device token is not valid.");
    }

    /// <summary>Checks MQTT credentials (username = device id); the device, or null.</summary>
    public DeviceState? AuthenticateMqtt(string? username, string? password)
    {
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password) || Find(username) is not { } device)
        {
            return null;
        }

        return CryptographicOperations.FixedTimeEquals(Hash(password), device.PasswordHash) ? device : null;
    }

    /// <summary>The device that owns a token, or null.</summary>
    public string? OwnerOfToken(string token) => tokenOwners.GetValueOrDefault(Convert.ToHexString(Hash(token)));

    /// <summary>
    /// Records an accepted sequence (the caller holds the device's gate). The row is written by the next flush, within
    /// <see cref="ProgressFlushInterval"/>, together with every other device's: one commit a second instead of one per batch
    /// under a registry-wide lock on the acknowledgement path (at 1,000 devices, those commits and the WAL checkpoints they
    /// trigger stalled every device at once). Losing the last second of progress in a crash is safe: the samples
    /// themselves are durable in Storage before the acknowledgement, a device that resends a batch finds Storage's
    /// idempotent write, and gaps are counted again from the stored sequence.
    /// </summary>
    public void SaveProgress(DeviceState device) => dirty[device.DeviceId] = 0;

    /// <summary>How often accepted sequences are written to the registry.</summary>
    public static TimeSpan ProgressFlushInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Writes every device whose progress changed since the last flush, in one transaction.</summary>
    public void FlushProgress()
    {
        if (dirty.IsEmpty)
        {
            return;
        }

        lock (dbLock)
        {
            // Unmark before reading the values: a batch accepted meanwhile marks its device again for the next flush.
            var ids = dirty.Keys.ToArray();
            foreach (var id in ids)
            {
                dirty.TryRemove(id, out _);
            }

            try
            {
                using var tx = db.BeginTransaction();
                using var cmd = Command("UPDATE devices SET last_sequence=$s, gaps=$g WHERE device_id=$id", ("$s", null), ("$g", null), ("$id", null));
                cmd.Transaction = tx;
                foreach (var id in ids)
                {
                    if (devices.TryGetValue(id, out var device))
                    {
                        cmd.Parameters["$s"].Value = (object?)device.LastSequence ?? DBNull.Value;
                        cmd.Parameters["$g"].Value = device.Gaps;
                        cmd.Parameters["$id"].Value = id;
                        cmd.ExecuteNonQuery();
                    }
                }

                tx.Commit();
            }
            catch (SqliteException)
            {
                foreach (var id in ids)
                {
                    dirty.TryAdd(id, 0);
                }

                throw;
            }
        }
    }

    private async Task FlushLoopAsync()
    {
        using var timer = new PeriodicTimer(ProgressFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    FlushProgress();
                }
                catch (SqliteException)
                {
                    // The devices stay marked and the next tick tries again; a failing registry disk also fails the
                    // Connector's next registration, loudly.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    private void Execute(string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        stopping.Cancel();
        flushLoop.GetAwaiter().GetResult();
        FlushProgress();
        stopping.Dispose();
        db.Dispose();
    }
}
