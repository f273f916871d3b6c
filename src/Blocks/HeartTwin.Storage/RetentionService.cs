using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Storage;

/// <summary>
/// Deletes samples, beats, windows, vitals and gaps received more than <see cref="StorageOptions.RetentionDays"/> ago, at start
/// and then every <see cref="StorageOptions.RetentionIntervalMinutes"/>. Retention counts from arrival, not from the device's
/// clock, so a replayed old recording is not deleted the moment it is stored. The audit trail is never touched.
/// </summary>
internal sealed partial class RetentionService(ITwinStore store, IOptions<StorageOptions> options, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    /// <summary>One retention pass as of now; returns the rows deleted.</summary>
    public async Task<long> RunOnceAsync(CancellationToken cancellationToken)
    {
        int days = options.Value.RetentionDays;
        if (days == 0)
        {
            return 0;
        }

        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(days);
        long deleted = await store.DeleteReceivedBeforeAsync(cutoff, cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogDeleted(deleted, cutoff);
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMinutes(options.Value.RetentionIntervalMinutes);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed pass is logged and tried again at the next interval; retention must not stop the host.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFailed(ex);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Rows} rows received before {Cutoff:O}")]
    private partial void LogDeleted(long rows, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention pass failed; it runs again at the next interval")]
    private partial void LogFailed(Exception exception);
}
