using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Storage;

/// <summary>Options of the <c>Storage</c> configuration section.</summary>
public sealed class StorageOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Storage";

    /// <summary>The embedded provider (one file, the default).</summary>
    public const string SqliteProvider = "Sqlite";

    /// <summary>The server provider (several replicas share one database).</summary>
    public const string PostgresProvider = "Postgres";

    /// <summary>The database provider: "Sqlite" (embedded, the default) or "Postgres".</summary>
    [Required, RegularExpression("^(Sqlite|Postgres)$", ErrorMessage = "Storage:Provider must be \"Sqlite\" or \"Postgres\".")]
    public string Provider { get; set; } = SqliteProvider;

    /// <summary>Folder that holds the SQLite database (created if missing). Required with SQLite: the host passes its data folder.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// The PostgreSQL connection string (Npgsql's syntax: <c>Host=…;Port=…;Database=…;Username=…;Password=…</c>); required with
    /// Postgres. When empty, <c>ConnectionStrings:Storage</c> is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// How many times a PostgreSQL write or read that failed transiently (the server restarting, a dropped connection) is tried
    /// again, with exponential back-off capped at 2 s: the default 30 rides out about a minute of outage. Writes are idempotent,
    /// so a retry after an ambiguous commit stores nothing twice.
    /// </summary>
    [Range(0, 10_000)]
    public int RetryAttempts { get; set; } = 30;

    /// <summary>Database file name inside <see cref="DataDirectory"/>.</summary>
    [Required, RegularExpression(@"^[\w.\-]+$")]
    public string FileName { get; set; } = "hearttwin.db";

    /// <summary>Days that samples, beats, windows, vitals and gaps are kept after they were received; 0 keeps them forever. The audit trail, actions and twin states are never deleted by retention.</summary>
    [Range(0, 36_500)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>Minutes between retention passes.</summary>
    [Range(1, 24 * 60)]
    public int RetentionIntervalMinutes { get; set; } = 60;

    /// <summary>
    /// SQLite <c>synchronous</c> setting: "Normal" (WAL: a committed write survives a crash or kill -9 of the process; the last
    /// transactions may be lost on power failure) or "Full" (also survives power failure; an fsync per commit).
    /// </summary>
    [Required, RegularExpression("^(Normal|Full)$", ErrorMessage = "Storage:Synchronous must be \"Normal\" or \"Full\".")]
    public string Synchronous { get; set; } = "Normal";

    /// <summary>How long a connection waits for a lock before failing, in milliseconds.</summary>
    [Range(0, 600_000)]
    public int BusyTimeoutMs { get; set; } = 5_000;

    /// <summary>Most writes the group-commit writer puts into one transaction.</summary>
    [Range(1, 100_000)]
    public int MaxWritesPerTransaction { get; set; } = 1_000;

    /// <summary>Samples per predictor block inside a chunk (see the codec); 1-second chunks are one block whatever this is.</summary>
    [Range(16, 65_536)]
    public int CodecBlockSize { get; set; } = Compression.SampleCodec.DefaultBlockSize;

    /// <summary>
    /// Seconds between the log lines with Storage's figures (chunks, bytes per sample, arrival-to-commit p50 and p99); 0 turns
    /// them off. A service host has no other place to show them without a metrics collector.
    /// </summary>
    [Range(0, 86_400)]
    public int StatsLogSeconds { get; set; } = 60;

    /// <summary>The checks that depend on the provider (data annotations run first).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == SqliteProvider && string.IsNullOrWhiteSpace(DataDirectory))
        {
            yield return new ValidationResult("Storage:DataDirectory is required (the folder the twin's database lives in).", [nameof(DataDirectory)]);
        }

        if (Provider == PostgresProvider)
        {
            if (string.IsNullOrWhiteSpace(ConnectionString))
            {
                yield return new ValidationResult(
                    "Storage:ConnectionString (or ConnectionStrings:Storage) is required when Storage:Provider is \"Postgres\", e.g. \"Host=db;Database=hearttwin;Username=hearttwin;Password=…\".",
                    [nameof(ConnectionString)]);
            }
            else if (Postgres.PostgresConnection.Describe(ConnectionString) is { } error)
            {
                yield return new ValidationResult($"Storage:ConnectionString is not a valid PostgreSQL connection string: {error}", [nameof(ConnectionString)]);
            }
        }
    }
}
