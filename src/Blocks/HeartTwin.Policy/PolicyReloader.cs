using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Policy;

/// <summary>
/// Reloads the descriptor when it changes: a FileSystemWatcher for promptness, and a periodic content-hash check
/// because change notifications do not arrive on every file system (bind mounts, ConfigMaps swap a symlink).
/// </summary>
internal sealed partial class PolicyReloader(PolicyStore store, IOptions<PolicyOptions> options, TimeProvider time, ILogger<PolicyReloader> logger)
    : BackgroundService
{
    // Editors save in several writes; wait for the burst to settle before reading.
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);
    private readonly SemaphoreSlim changed = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watcher = CreateWatcher();
        var period = TimeSpan.FromSeconds(options.Value.ReloadCheckSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var tick = Task.Delay(period, time, wake.Token);
                var notified = changed.WaitAsync(wake.Token);
                var first = await Task.WhenAny(tick, notified).ConfigureAwait(false);
                await wake.CancelAsync().ConfigureAwait(false);
                if (first == notified)
                {
                    await Task.Delay(Debounce, time, stoppingToken).ConfigureAwait(false);
                }

                stoppingToken.ThrowIfCancellationRequested();
                store.Reload();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private FileSystemWatcher? CreateWatcher()
    {
        string? folder = Path.GetDirectoryName(store.FullPath);
        if (folder is null || !Directory.Exists(folder))
        {
            return null;
        }

        try
        {
            var watcher = new FileSystemWatcher(folder, Path.GetFileName(store.FullPath))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, _) => Signal();
            watcher.Created += (_, _) => Signal();
            watcher.Renamed += (_, _) => Signal();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify instances, for example: the periodic check still reloads.
            LogWatcherUnavailable(logger, store.FullPath, ex.Message);
            return null;
        }
    }

    private void Signal()
    {
        try
        {
            changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A reload is already pending; it will read the latest content.
        }
    }

    public override void Dispose()
    {
        changed.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch {Path} for changes ({Reason}); it is re-checked periodically instead")]
    private static partial void LogWatcherUnavailable(ILogger logger, string path, string reason);
}
