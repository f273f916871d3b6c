using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;

namespace HeartTwin.Storage.Postgres;

/// <summary>One sample batch as a row of <c>sample_chunks</c> (the chunk already compressed by the caller).</summary>
internal sealed record ChunkRow(
    string DeviceId, long Sequence, string PatientId, long StartTicks, long EndTicks, double RateHz, int SamplesPerLead, string Leads, byte[] Data, long ReceivedTicks);

/// <summary>What storing a chunk did: whether it was new, and the rows written with it (chunk, patient, device).</summary>
internal readonly record struct ChunkOutcome(bool Inserted, int RowsChanged);

/// <summary>
/// The group-commit writer of the PostgreSQL store, as the SQLite one: handlers enqueue writes and await them; one loop takes
/// whatever is pending (up to <see cref="StorageOptions.MaxWritesPerTransaction"/>), runs it in ONE transaction and completes
/// the writes only after COMMIT, so a handler returns only once its data is durable and concurrent handlers share a commit.
/// <list type="bullet">
/// <item>Consecutive sample chunks go in as one multi-row <c>INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING</c>
/// (with their patients and devices in the same statement): one round trip for hundreds of chunks.</item>
/// <item>Other writes keep their order; a write of several statements is one pipelined batch.</item>
/// <item>No savepoints (a round trip each): a write that fails for good is taken out and the rest of the batch runs again, so
/// one bad write fails only its own caller. A run of chunks that fails is split into single chunks first.</item>
/// <item>A transient failure (the server restarting, a dropped connection) re-runs the whole transaction with Polly's retry on a
/// fresh connection. Every write is idempotent, so a commit whose answer was lost and is then run again stores nothing twice.</item>
/// </list>
/// </summary>
internal sealed partial class PostgresGroupCommitWriter : IAsyncDisposable
{
    private const string InsertLeadSets = "INSERT INTO lead_sets (leads) SELECT unnest($1::text[]) ON CONFLICT (leads) DO NOTHING";
    private const string SelectLeadSets = "SELECT lead_set_id, leads FROM lead_sets WHERE leads = ANY($1::text[])";

    // One statement for a run of chunks; each op's patient and device are added only for chunks that were new, first op first.
    private const string InsertChunks =
        """
        WITH r AS (
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[], $7::integer[], $8::bigint[], $9::bytea[], $10::bigint[])
                WITH ORDINALITY AS r(device_id, sequence, patient_id, start_ticks, end_ticks, rate_hz, samples_per_lead, lead_set_id, data, received_ticks, ord)),
        ins AS (
            INSERT INTO sample_chunks (device_id, sequence, patient_id, start_ticks, end_ticks, rate_hz, samples_per_lead, lead_set_id, codec, data, received_ticks)
            SELECT device_id, sequence, patient_id, start_ticks, end_ticks, rate_hz, samples_per_lead, lead_set_id, 'HTC1', data, received_ticks FROM r ORDER BY ord
            ON CONFLICT DO NOTHING
            RETURNING device_id, sequence),
        new_rows AS (SELECT r.* FROM r JOIN ins USING (device_id, sequence)),
        p AS (
            INSERT INTO patients (patient_id, created_ticks)
            SELECT DISTINCT ON (patient_id) patient_id, received_ticks FROM new_rows ORDER BY patient_id, ord
            ON CONFLICT DO NOTHING RETURNING 1),
        d AS (
            INSERT INTO devices (device_id, patient_id, kind, registered_ticks)
            SELECT DISTINCT ON (device_id) device_id, patient_id, 'unknown', received_ticks FROM new_rows ORDER BY device_id, ord
            ON CONFLICT DO NOTHING RETURNING 1)
        SELECT device_id, sequence, (SELECT count(*) FROM p) + (SELECT count(*) FROM d) FROM ins
        """;

    private readonly Channel<Write> queue = Channel.CreateBounded<Write>(
        new BoundedChannelOptions(65_536) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    // Lead sets are never deleted (retention and erase leave them), so an id, once committed, stays valid for good.
    private readonly ConcurrentDictionary<string, long> leadSets = new(StringComparer.Ordinal);
    private readonly NpgsqlDataSource dataSource;
    private readonly int maxPerTransaction;
    private readonly StorageStats stats;
    private readonly ResiliencePipeline retry;
    private readonly ILogger logger;
    private readonly Task loop;

    // The writer's own connection, kept between transactions (no pool round trip or reset per commit); dropped on any failure.
    private NpgsqlConnection? connection;

    public PostgresGroupCommitWriter(NpgsqlDataSource dataSource, int maxPerTransaction, ResiliencePipeline retry, StorageStats stats, ILogger logger)
    {
        this.dataSource = dataSource;
        this.maxPerTransaction = maxPerTransaction;
        this.retry = retry;
        this.stats = stats;
        this.logger = logger;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Queues a write and completes with its result once its transaction has committed.</summary>
    /// <exception cref="ObjectDisposedException">The store is shutting down.</exception>
    public Task<T> WriteAsync<T>(Func<PostgresWriteContext, CancellationToken, Task<T>> apply, CancellationToken cancellationToken = default) =>
        EnqueueAsync(new GenericWrite<T>(apply), cancellationToken);

    /// <summary>Queues a chunk; completes once committed, saying whether it was new.</summary>
    public Task<ChunkOutcome> WriteChunkAsync(ChunkRow row, CancellationToken cancellationToken = default) =>
        EnqueueAsync(new ChunkWrite(row), cancellationToken);

    private async Task<T> EnqueueAsync<T>(Write<T> operation, CancellationToken cancellationToken)
    {
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
        var batch = new List<Write>(maxPerTransaction);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < maxPerTransaction && reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            await CommitBatchAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task CommitBatchAsync(List<Write> batch)
    {
        var pending = new List<Write>(batch);
        while (pending.Count > 0)
        {
            Dictionary<string, long> newLeadSets;
            try
            {
                newLeadSets = await retry.ExecuteAsync(static async (state, ct) => await state.Writer.AttemptAsync(state.Pending, ct).ConfigureAwait(false),
                    (Writer: this, Pending: pending), CancellationToken.None).ConfigureAwait(false);
            }
            catch (SegmentFailedException failed)
            {
                if (failed.Segment.Count == 1)
                {
                    failed.Segment[0].Fail(failed.InnerException!);
                    pending.Remove(failed.Segment[0]);
                }
                else
                {
                    LogSplit(failed.Segment.Count, failed.InnerException!);
                    foreach (var write in failed.Segment)
                    {
                        write.Alone = true;
                    }
                }

                continue;
            }
#pragma warning disable CA1031 // A failed commit (retries spent) fails every caller of the batch (they retry later); the loop keeps running.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogCommitFailed(pending.Count, ex);
                foreach (var write in pending)
                {
                    write.Fail(ex);
                }

                return;
            }

            foreach (var (leads, id) in newLeadSets)
            {
                leadSets.TryAdd(leads, id);
            }

            stats.RecordTransaction(pending.Count);
            foreach (var write in pending)
            {
                write.Complete();
            }

            return;
        }
    }

    /// <summary>One try of the whole transaction; the lead sets it created are cached only after commit.</summary>
    private async Task<Dictionary<string, long>> AttemptAsync(List<Write> pending, CancellationToken ct)
    {
        var newLeadSets = new Dictionary<string, long>(StringComparer.Ordinal);
        if (connection is not { FullState: System.Data.ConnectionState.Open })
        {
            await DropConnectionAsync().ConfigureAwait(false);
            connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        }

        try
        {
            await RunTransactionAsync(connection, pending, newLeadSets, ct).ConfigureAwait(false);
        }
        catch
        {
            // After a failure the connection may be broken or mid-transaction: the next attempt starts on a fresh one.
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }

        return newLeadSets;
    }

    private async Task DropConnectionAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            connection = null;
        }
    }

    private async Task RunTransactionAsync(NpgsqlConnection connection, List<Write> pending, Dictionary<string, long> newLeadSets, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var context = new PostgresWriteContext(connection, transaction);
        int i = 0;
        while (i < pending.Count)
        {
            int end = i + 1;
            if (pending[i] is ChunkWrite { Alone: false })
            {
                while (end < pending.Count && pending[end] is ChunkWrite { Alone: false })
                {
                    end++;
                }
            }

            var segment = pending.GetRange(i, end - i);
            try
            {
                if (segment[0] is ChunkWrite)
                {
                    await WriteChunksAsync(context, segment.Cast<ChunkWrite>().ToList(), newLeadSets, ct).ConfigureAwait(false);
                }
                else
                {
                    await segment[0].RunAsync(context, ct).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (!PostgresConnection.IsTransient(ex) && ex is not OperationCanceledException)
            {
                throw new SegmentFailedException(segment, ex);
            }

            i = end;
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private async Task WriteChunksAsync(PostgresWriteContext context, List<ChunkWrite> chunks, Dictionary<string, long> newLeadSets, CancellationToken ct)
    {
        // The first of several writes of one (device, sequence) in the run stores it; the others are duplicates, as in sequence.
        var first = new Dictionary<(string, long), ChunkWrite>();
        var rows = new List<ChunkWrite>(chunks.Count);
        foreach (var chunk in chunks)
        {
            chunk.Result = new ChunkOutcome(false, 0);
            if (first.TryAdd((chunk.Row.DeviceId, chunk.Row.Sequence), chunk))
            {
                rows.Add(chunk);
            }
        }

        var missing = rows.Select(c => c.Row.Leads).Where(l => !leadSets.ContainsKey(l) && !newLeadSets.ContainsKey(l)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            await context.ExecuteAsync(InsertLeadSets, ct, [missing]).ConfigureAwait(false);
            await using var select = context.Command(SelectLeadSets, [missing]);
            await using var found = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await found.ReadAsync(ct).ConfigureAwait(false))
            {
                newLeadSets[found.GetString(1)] = found.GetInt64(0);
            }
        }

        long LeadSet(string leads) => leadSets.TryGetValue(leads, out long id) ? id : newLeadSets[leads];
        await using var insert = context.Command(InsertChunks,
            rows.Select(c => c.Row.DeviceId).ToArray(),
            rows.Select(c => c.Row.Sequence).ToArray(),
            rows.Select(c => c.Row.PatientId).ToArray(),
            rows.Select(c => c.Row.StartTicks).ToArray(),
            rows.Select(c => c.Row.EndTicks).ToArray(),
            rows.Select(c => c.Row.RateHz).ToArray(),
            rows.Select(c => c.Row.SamplesPerLead).ToArray(),
            rows.Select(c => LeadSet(c.Row.Leads)).ToArray(),
            rows.Select(c => c.Row.Data).ToArray(),
            rows.Select(c => c.Row.ReceivedTicks).ToArray());
        await using var inserted = await insert.ExecuteReaderAsync(ct).ConfigureAwait(false);
        bool extraCounted = false;
        while (await inserted.ReadAsync(ct).ConfigureAwait(false))
        {
            var chunk = first[(inserted.GetString(0), inserted.GetInt64(1))];
            // The patients and devices the run added are counted with its first new chunk (only the total matters to the stats).
            int extra = extraCounted ? 0 : (int)inserted.GetInt64(2);
            extraCounted = true;
            chunk.Result = new ChunkOutcome(true, 1 + extra);
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop.ConfigureAwait(false);
        await DropConnectionAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage commit of {Count} writes failed; their callers will retry")]
    private partial void LogCommitFailed(int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A run of {Count} sample chunks failed; storing them one by one to find the bad one")]
    private partial void LogSplit(int count, Exception exception);

    private sealed class SegmentFailedException(List<Write> segment, Exception inner) : Exception(inner.Message, inner)
    {
        public List<Write> Segment { get; } = segment;
    }

    private abstract class Write
    {
        /// <summary>Run on its own, not merged with its neighbours (after a merged run of it failed).</summary>
        public bool Alone { get; set; }

        public abstract Task RunAsync(PostgresWriteContext context, CancellationToken ct);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private abstract class Write<T> : Write
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public T Result { get; set; } = default!;

        public override void Complete() => Completion.TrySetResult(Result);

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed class GenericWrite<T>(Func<PostgresWriteContext, CancellationToken, Task<T>> apply) : Write<T>
    {
        public override async Task RunAsync(PostgresWriteContext context, CancellationToken ct) => Result = await apply(context, ct).ConfigureAwait(false);
    }

    private sealed class ChunkWrite(ChunkRow row) : Write<ChunkOutcome>
    {
        public ChunkRow Row { get; } = row;

        public override Task RunAsync(PostgresWriteContext context, CancellationToken ct) =>
            throw new InvalidOperationException("Chunks are written in runs by the writer.");
    }
}
