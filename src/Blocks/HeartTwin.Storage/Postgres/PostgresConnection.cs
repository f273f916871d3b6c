using Npgsql;
using Polly;
using Polly.Retry;

namespace HeartTwin.Storage.Postgres;

/// <summary>The data source and the retry of transient failures, shared by the PostgreSQL store's writer, reads and migrations.</summary>
internal static class PostgresConnection
{
    /// <summary>Why a connection string cannot be used, or null when it can (checked at start, so a typo fails the host at once).</summary>
    public static string? Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "it names no Host." : null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>A pooled data source for the connection string; statements used more than twice are prepared automatically.</summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (string.IsNullOrEmpty(settings.ApplicationName))
        {
            settings.ApplicationName = "hearttwin-storage";
        }

        // The writer and the queries repeat a few dozen statements: preparing them saves a parse and plan per execution.
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 64;
        }

        return builder.Build();
    }

    /// <summary>
    /// Whether a failure is worth trying again: Npgsql's own verdict (a dropped connection, a refused connect, a serialization
    /// failure, a deadlock …), plus the server's shutdown and start-up states, which a restart passes through.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.ConnectionFailure or PostgresErrorCodes.ConnectionException,
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    /// <summary>
    /// Polly 8 retry: exponential back-off from 100 ms, capped at 2 s, with jitter, <paramref name="attempts"/> times, only for
    /// <see cref="IsTransient"/> failures. Whatever it retries must be idempotent (every write of the store is).
    /// </summary>
    public static ResiliencePipeline CreateRetry(int attempts, Action<Exception?, int> onRetry)
    {
        var builder = new ResiliencePipelineBuilder();
        if (attempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = attempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(2),
                UseJitter = true,
                OnRetry = args =>
                {
                    onRetry(args.Outcome.Exception, args.AttemptNumber + 1);
                    return default;
                },
            });
        }

        return builder.Build();
    }
}
