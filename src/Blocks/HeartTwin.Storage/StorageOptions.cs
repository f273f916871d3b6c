using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Storage;

/// <summary>Options of the <c>Storage</c> configuration section.</summary>
public sealed class StorageOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Storage";

    /// <summary>The database provider. Only "Sqlite" (embedded, the default) exists so far.</summary>
    [Required, RegularExpression("^Sqlite$", ErrorMessage = "Storage:Provider must be \"Sqlite\".")]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Folder that holds the database (created if missing). Required: the host passes its data folder.</summary>
    [Required(ErrorMessage = "Storage:DataDirectory is required (the folder the twin's database lives in).")]
    public string? DataDirectory { get; set; }

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
}
