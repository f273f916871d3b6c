using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Storage;

/// <summary>
/// Logs <see cref="StorageStats"/> every <see cref="StorageOptions.StatsLogSeconds"/> while chunks are being written: in the
/// distributed deployment the device's acknowledgement means "the broker has it", so this line is where the arrival-to-commit
/// latency of the samples shows.
/// </summary>
internal sealed partial class StorageStatsReporter(StorageStats stats, IOptions<StorageOptions> options, TimeProvider time, ILogger<StorageStatsReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int seconds = options.Value.StatsLogSeconds;
        if (seconds == 0)
        {
            return;
        }

        long lastChunks = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var s = stats.Snapshot();
                if (s.ChunksWritten == lastChunks)
                {
                    continue; // Idle: nothing new to say.
                }

                lastChunks = s.ChunksWritten;
                LogStats(s.ChunksWritten, s.SamplesStored, s.BytesPerSample, s.DuplicatesIgnored, s.WritesPerTransaction,
                    s.WriteLatencyP50Ms ?? double.NaN, s.WriteLatencyP99Ms ?? double.NaN);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Storage: {Chunks} chunks, {Samples} samples, {BytesPerSample:0.000} bytes/sample, {Duplicates} duplicates ignored, {WritesPerTransaction:0.0} writes per transaction; arrival to commit p50 {P50Ms:0.0} ms, p99 {P99Ms:0.0} ms (latest 65,536 batches)")]
    private partial void LogStats(long chunks, long samples, double bytesPerSample, long duplicates, double writesPerTransaction, double p50Ms, double p99Ms);
}
