using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Policy;

/// <summary>A loaded descriptor: what every decision reads, replaced whole on reload.</summary>
/// <param name="Document">The validated descriptor.</param>
/// <param name="Version">SHA-256 of the file's bytes, the first 16 hex digits.</param>
/// <param name="Content">The file's text as loaded.</param>
/// <param name="Path">The full path it was read from.</param>
/// <param name="LoadedAt">UTC time of the load.</param>
internal sealed record PolicySnapshot(PolicyDocument Document, string Version, string Content, string Path, DateTimeOffset LoadedAt);

/// <summary>Holds the descriptor in force. The first load happens in the constructor, so that a bad file stops the start.</summary>
internal sealed partial class PolicyStore
{
    private readonly TimeProvider time;
    private readonly ILogger<PolicyStore> logger;
    private readonly Lock reloading = new();
    private volatile PolicySnapshot current;

    public PolicyStore(IOptions<PolicyOptions> options, TimeProvider time, ILogger<PolicyStore> logger, IHostEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.time = time;
        this.logger = logger;
        string path = options.Value.Path;
        FullPath = System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(path) || environment is null
            ? path
            : System.IO.Path.Combine(environment.ContentRootPath, path));
        current = Load(Read());
        LogLoaded(logger, FullPath, current.Version, current.Document.Sharing.Rules.Count, current.Document.Alerts.Rules.Count, current.Document.Actuation.Rules.Count);
    }

    /// <summary>The descriptor's full path.</summary>
    public string FullPath { get; }

    /// <summary>The descriptor in force.</summary>
    public PolicySnapshot Current => current;

    /// <summary>Raised after a new descriptor came into force.</summary>
    public event Action<PolicySnapshot>? Reloaded;

    /// <summary>
    /// Reads the file again and, when its content changed and is valid, puts it in force. An invalid file keeps the
    /// previous descriptor and logs why. Returns whether a new descriptor came into force.
    /// </summary>
    public bool Reload()
    {
        lock (reloading)
        {
            (byte[] bytes, string text) read;
            try
            {
                read = Read();
            }
            catch (PolicyLoadException ex)
            {
                LogReloadFailed(logger, FullPath, current.Version, ex.Message);
                return false;
            }

            if (VersionOf(read.bytes) == current.Version)
            {
                return false;
            }

            PolicySnapshot next;
            try
            {
                next = Load(read);
            }
            catch (PolicyLoadException ex)
            {
                LogReloadFailed(logger, FullPath, current.Version, ex.Message);
                return false;
            }

            var previous = current;
            current = next;
            LogReloaded(logger, FullPath, previous.Version, next.Version);
            Reloaded?.Invoke(next);
            return true;
        }
    }

    /// <summary>The version of a content: SHA-256, first 16 hex digits (64 bits: plenty to tell versions apart).</summary>
    public static string VersionOf(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content))[..16];

    private (byte[] bytes, string text) Read()
    {
        try
        {
            // Read through a shared handle: an editor may still hold the file open while it saves.
            using var stream = new FileStream(FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            byte[] bytes = buffer.ToArray();
            return (bytes, new UTF8Encoding(false, true).GetString(bytes));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new PolicyLoadException(FullPath, 0, [$"{FullPath}: cannot be read: {ex.Message}"], ex);
        }
    }

    private PolicySnapshot Load((byte[] bytes, string text) read) =>
        new(PolicyParser.Parse(read.text, FullPath), VersionOf(read.bytes), read.text, FullPath, time.GetUtcNow());

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy {Path} loaded, version {Version}: {Sharing} sharing, {Alerts} alert and {Actuation} actuation rules")]
    private static partial void LogLoaded(ILogger logger, string path, string version, int sharing, int alerts, int actuation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy {Path} reloaded: version {Previous} replaced by {Version}")]
    private static partial void LogReloaded(ILogger logger, string path, string previous, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Policy {Path} changed but the new file is invalid; version {Version} stays in force. {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string path, string version, string problem);
}
