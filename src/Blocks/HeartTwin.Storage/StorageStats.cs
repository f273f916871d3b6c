using Microsoft.Extensions.Options;

namespace HeartTwin.Storage;

/// <summary>A snapshot of the Storage block's figures since the process started (a host may show them).</summary>
/// <param name="RowsWritten">Rows inserted or updated, all tables together (duplicates not counted).</param>
/// <param name="ChunksWritten">Sample chunks stored.</param>
/// <param name="SamplesStored">Samples (all leads) in those chunks.</param>
/// <param name="ChunkBytes">Compressed bytes of those chunks.</param>
/// <param name="BytesPerSample">ChunkBytes / SamplesStored; 0 before the first chunk.</param>
/// <param name="DuplicatesIgnored">Writes that were already stored (redeliveries, replayed sequences).</param>
/// <param name="Transactions">Transactions committed by the group-commit writer.</param>
/// <param name="WritesPerTransaction">Mean writes per transaction.</param>
/// <param name="DatabaseBytes">Size of the database file and its WAL on disk now.</param>
/// <param name="WriteLatencyP50Ms">Median time from a batch's ReceivedAt (the Connector) to its commit, over the latest 65,536 batches; null before any.</param>
/// <param name="WriteLatencyP99Ms">The 99th percentile of the same.</param>
public sealed record StorageStatsSnapshot(
    long RowsWritten,
    long ChunksWritten,
    long SamplesStored,
    long ChunkBytes,
    double BytesPerSample,
    long DuplicatesIgnored,
    long Transactions,
    double WritesPerTransaction,
    long DatabaseBytes,
    double? WriteLatencyP50Ms,
    double? WriteLatencyP99Ms);

/// <summary>Counters of the Storage block (a singleton; thread-safe).</summary>
public sealed class StorageStats
{
    private const int LatencyWindow = 65_536; // 100 patients for 11 minutes, 1,000 for 65 s; 512 KB
    private readonly double[] latencies = new double[LatencyWindow];
    private readonly Lock latencyLock = new();
    private readonly string? databasePath;
    private int latencyCount;
    private int latencyNext;
    private long rows, chunks, samples, chunkBytes, duplicates, transactions, writes;

    /// <summary>Creates the counters for the configured database.</summary>
    public StorageStats(IOptions<StorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        databasePath = o.DataDirectory is null ? null : Path.Combine(o.DataDirectory, o.FileName);
    }

    internal void RecordRows(long count) => Interlocked.Add(ref rows, count);

    internal void RecordDuplicate() => Interlocked.Increment(ref duplicates);

    internal void RecordChunk(long sampleCount, long bytes)
    {
        Interlocked.Increment(ref chunks);
        Interlocked.Add(ref samples, sampleCount);
        Interlocked.Add(ref chunkBytes, bytes);
    }

    internal void RecordTransaction(int writeCount)
    {
        Interlocked.Increment(ref transactions);
        Interlocked.Add(ref writes, writeCount);
    }

    internal void RecordLatency(TimeSpan latency)
    {
        lock (latencyLock)
        {
            latencies[latencyNext] = latency.TotalMilliseconds;
            latencyNext = (latencyNext + 1) % LatencyWindow;
            latencyCount = Math.Min(latencyCount + 1, LatencyWindow);
        }
    }

    /// <summary>The current figures.</summary>
    public StorageStatsSnapshot Snapshot()
    {
        double[] window;
        lock (latencyLock)
        {
            window = latencies.AsSpan(0, latencyCount).ToArray();
        }

        Array.Sort(window);
        long s = Interlocked.Read(ref samples), b = Interlocked.Read(ref chunkBytes), t = Interlocked.Read(ref transactions);
        return new StorageStatsSnapshot(
            Interlocked.Read(ref rows),
            Interlocked.Read(ref chunks),
            s,
            b,
            s == 0 ? 0 : (double)b / s,
            Interlocked.Read(ref duplicates),
            t,
            t == 0 ? 0 : (double)Interlocked.Read(ref writes) / t,
            DatabaseBytes(),
            Percentile(window, 0.50),
            Percentile(window, 0.99));
    }

    private long DatabaseBytes()
    {
        if (databasePath is null)
        {
            return 0;
        }

        long size = 0;
        foreach (var path in new[] { databasePath, databasePath + "-wal" })
        {
            var file = new FileInfo(path);
            if (file.Exists)
            {
                size += file.Length;
            }
        }

        return size;
    }

    private static double? Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? null : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
