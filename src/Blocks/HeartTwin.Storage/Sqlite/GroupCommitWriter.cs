using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Storage.Sqlite;

/// <summary>
/// The single writer of the database (group commit). Handlers enqueue write operations and await them; one loop takes
/// whatever is pending (up to a limit), runs each in its own savepoint inside one transaction, commits, and only then
/// completes the operations. So a handler returns only once its data is committed, and many concurrent handlers share
/// one commit instead of paying one each.
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private readonly Channel<WriteOperation> queue = Channel.CreateBounded<WriteOperation>(
        new BoundedChannelOptions(65_536) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly SqliteConnection connection;
    private readonly WriteContext context;
    private readonly int maxPerTransaction;
    private readonly StorageStats stats;
    private readonly ILogger logger;
    private readonly Task loop;

    public GroupCommitWriter(SqliteConnection connection, int maxPerTransaction, StorageStats stats, ILogger logger)
    {
        this.connection = connection;
        this.maxPerTransaction = maxPerTransaction;
        this.stats = stats;
        this.logger = logger;
        context = new WriteContext(connection);
        loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Queues <paramref name="apply"/> and completes with its result once its transaction has committed.</summary>
    /// <exception cref="ObjectDisposedException">The store is shutting down.</exception>
    public async Task<T> WriteAsync<T>(Func<WriteContext, T> apply, CancellationToken cancellationToken = default)
    {
        var operation = new WriteOperation<T>(apply);
        if (!queue.Writer.TryWrite(operation))
        {
            try
            {
                await queue.Writer.WriteAsync(operation, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                throw new ObjectDisposedException("The storage writer has stopped; the write was not stored.", ex);
            }
        }

        // Not cancellable once queued: the write may commit, and the caller must not believe otherwise.
        return await operation.Completion.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOperation>(maxPerTransaction);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < maxPerTransaction && reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            CommitBatch(batch);
        }
    }

    private void CommitBatch(List<WriteOperation> batch)
    {
        try
        {
            context.Execute("BEGIN IMMEDIATE");
            foreach (var operation in batch)
            {
                context.Execute("SAVEPOINT op");
                try
                {
                    operation.Run(context);
                    context.Execute("RELEASE op");
                }
#pragma warning disable CA1031 // One bad write fails only its own caller; the rest of the batch commits.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    context.Execute("ROLLBACK TO op");
                    context.Execute("RELEASE op");
                    operation.Error = ex;
                }
            }

            context.Execute("COMMIT");
        }
#pragma warning disable CA1031 // A failed commit fails every caller of the batch (they retry); the loop keeps running.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogCommitFailed(batch.Count, ex);
            TryRollback();
            foreach (var operation in batch)
            {
                operation.Fail(ex);
            }

            return;
        }

        stats.RecordTransaction(batch.Count);
        foreach (var operation in batch)
        {
            operation.Complete();
        }
    }

    private void TryRollback()
    {
        try
        {
            if (!connection.AutoCommit())
            {
                context.Execute("ROLLBACK");
            }
        }
        catch (SqliteException ex)
        {
            LogRollbackFailed(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop.ConfigureAwait(false);
        context.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage commit of {Count} writes failed; their callers will retry")]
    private partial void LogCommitFailed(int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage rollback failed")]
    private partial void LogRollbackFailed(Exception exception);

    private abstract class WriteOperation
    {
        public Exception? Error { get; set; }

        public abstract void Run(WriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(Func<WriteContext, T> apply) : WriteOperation
    {
        private T result = default!;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(WriteContext context) => result = apply(context);

        public override void Complete()
        {
            if (Error is null)
            {
                Completion.TrySetResult(result);
            }
            else
            {
                Completion.TrySetException(Error);
            }
        }

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}

internal static class SqliteConnectionExtensions
{
    /// <summary>Whether no transaction is open (sqlite3_get_autocommit).</summary>
    public static bool AutoCommit(this SqliteConnection connection) =>
        SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0;
}
