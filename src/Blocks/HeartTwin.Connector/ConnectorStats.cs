using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace HeartTwin.Connector;

/// <summary>
/// The Connector's counters since start, also published as the System.Diagnostics.Metrics meter
/// <see cref="MeterName"/> (instruments <c>hearttwin.connector.*</c>), so OpenTelemetry or dotnet-counters can read them.
/// </summary>
public sealed class ConnectorStats
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "HeartTwin.Connector";

    private readonly Counter<long> acceptedCounter;
    private readonly Counter<long> samplesCounter;
    private readonly Counter<long> duplicateCounter;
    private readonly Counter<long> rejectedCounter;
    private readonly Counter<long> gapCounter;
    private readonly Counter<long> overloadCounter;
    private readonly ConcurrentDictionary<string, long> rejectedByReason = new(StringComparer.Ordinal);
    private long accepted;
    private long samples;
    private long duplicates;
    private long gaps;
    private long overloaded;

    /// <summary>Creates the counters on a meter from <paramref name="meterFactory"/>.</summary>
    public ConnectorStats(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        acceptedCounter = meter.CreateCounter<long>("hearttwin.connector.batches.accepted", "{batch}", "Batches accepted and stored.");
        samplesCounter = meter.CreateCounter<long>("hearttwin.connector.samples.accepted", "{sample}", "ECG samples accepted (all leads).");
        duplicateCounter = meter.CreateCounter<long>("hearttwin.connector.batches.duplicate", "{batch}", "Batches acknowledged as duplicates, not stored again.");
        rejectedCounter = meter.CreateCounter<long>("hearttwin.connector.batches.rejected", "{message}", "Messages rejected, tagged by reason.");
        gapCounter = meter.CreateCounter<long>("hearttwin.connector.sequence.gaps", "{gap}", "Sequence gaps detected.");
        overloadCounter = meter.CreateCounter<long>("hearttwin.connector.batches.overloaded", "{batch}", "Batches refused because the bus did not confirm in time.");
    }

    /// <summary>Batches accepted.</summary>
    public long Accepted => Interlocked.Read(ref accepted);
    /// <summary>ECG samples accepted, all leads together.</summary>
    public long Samples => Interlocked.Read(ref samples);
    /// <summary>Duplicates acknowledged.</summary>
    public long Duplicates => Interlocked.Read(ref duplicates);
    /// <summary>Gaps detected.</summary>
    public long Gaps => Interlocked.Read(ref gaps);
    /// <summary>Batches answered 503 or dropped with the connection because the bus was too slow or failed.</summary>
    public long Overloaded => Interlocked.Read(ref overloaded);
    /// <summary>Rejections in total.</summary>
    public long Rejected => rejectedByReason.Values.Sum();

    /// <summary>Rejections per error code.</summary>
    public IReadOnlyDictionary<string, long> RejectedByReason => new Dictionary<string, long>(rejectedByReason, StringComparer.Ordinal);

    internal void CountAccepted(long sampleCount, string transport)
    {
        Interlocked.Increment(ref accepted);
        Interlocked.Add(ref samples, sampleCount);
        acceptedCounter.Add(1, new KeyValuePair<string, object?>("transport", transport));
        samplesCounter.Add(sampleCount, new KeyValuePair<string, object?>("transport", transport));
    }

    internal void CountDuplicate()
    {
        Interlocked.Increment(ref duplicates);
        duplicateCounter.Add(1);
    }

    internal void CountRejected(string reason, string transport)
    {
        rejectedByReason.AddOrUpdate(reason, 1, static (_, n) => n + 1);
        rejectedCounter.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("transport", transport));
    }

    internal void CountGap()
    {
        Interlocked.Increment(ref gaps);
        gapCounter.Add(1);
    }

    internal void CountOverloaded()
    {
        Interlocked.Increment(ref overloaded);
        overloadCounter.Add(1);
    }
}
