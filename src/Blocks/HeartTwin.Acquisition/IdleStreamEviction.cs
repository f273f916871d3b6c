using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Acquisition;

/// <summary>Sweeps idle streams out of the <see cref="StreamRegistry"/> every minute (or sooner for short idle limits).</summary>
internal sealed partial class IdleStreamEviction(
    StreamRegistry registry, IOptions<AcquisitionOptions> options, TimeProvider time, ILogger<IdleStreamEviction> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMinutes(Math.Min(1.0, options.Value.IdleStreamMinutes / 2.0));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var evicted = registry.EvictIdle();
                if (evicted > 0)
                {
                    LogEvicted(evicted, registry.Count);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Forgot {Evicted} idle streams; {Remaining} remain")]
    private partial void LogEvicted(int evicted, int remaining);
}
