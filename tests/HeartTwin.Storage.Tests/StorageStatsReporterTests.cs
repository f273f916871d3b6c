using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Storage.Tests;

/// <summary>Storage's figures reach the log, where a distributed deployment's operator reads the arrival-to-commit latency.</summary>
public sealed class StorageStatsReporterTests
{
    [Fact]
    public async Task Storage_logs_its_chunks_and_arrival_to_commit_percentiles_while_it_writes()
    {
        string dir = Directory.CreateTempSubdirectory("ht-stats-").FullName;
        var lines = new LogLines();
        try
        {
            await using (var storage = await StorageHarness.StartAsync(dir, settings: new Dictionary<string, string?> { ["Storage:StatsLogSeconds"] = "1" },
                configure: s => s.AddSingleton<ILoggerProvider>(lines)))
            {
                for (long seq = 0; seq < 3; seq++)
                {
                    await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", seq));
                }

                string? line = null;
                for (int i = 0; i < 100 && line is null; i++)
                {
                    await Task.Delay(100);
                    line = lines.Messages.FirstOrDefault(m => m.StartsWith("Storage: 3 chunks", StringComparison.Ordinal));
                }

                line.ShouldNotBeNull($"a stats line within 10 s; saw: {string.Join(" | ", lines.Messages)}");
                line.ShouldContain("arrival to commit p50 ");
                line.ShouldNotContain("NaN", customMessage: "three committed batches give percentiles");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class LogLines : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => categoryName.EndsWith(nameof(StorageStatsReporter), StringComparison.Ordinal) ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
