using System.Globalization;
using System.Text.Json;

namespace HeartTwin.Cli.Load;

/// <summary>What <c>hearttwin load</c> measured. Samples count every lead (a 2-lead second at 360 Hz is 720 samples).</summary>
internal sealed record LoadReport
{
    public int Patients { get; init; }
    public double DurationSeconds { get; init; }
    public int Leads { get; init; }
    public double SampleRateHz { get; init; }
    /// <summary>Devices whose every batch was acknowledged within one batch period of falling due (no growing backlog).</summary>
    public int PatientsInRealTime { get; init; }
    public long BatchesSent { get; init; }
    public long BatchesAcknowledged { get; init; }
    public long Retries { get; init; }
    public long Rejected { get; init; }
    public long SamplesSent { get; init; }
    public long SamplesAcknowledged { get; init; }
    /// <summary>Counted back from <c>GET /api/twins/{patient}/ecg</c>; null when that failed.</summary>
    public long? SamplesStored { get; init; }
    /// <summary>Acknowledged − stored; null when storage could not be read.</summary>
    public long? SamplesLost { get; init; }
    /// <summary>Send to PUBACK (the Connector acknowledges after the commit: arrival to stored).</summary>
    public double? StoredP50Ms { get; init; }
    public double? StoredP99Ms { get; init; }
    public double? StoredMaxMs { get; init; }
    public long Alerts { get; init; }
    public int PatientsStreamed { get; init; }
    /// <summary>ActionDecided.DecidedAt − Proposal.SourceReceivedAt over the SSE stream.</summary>
    public double? AlertP50Ms { get; init; }
    public double? AlertP99Ms { get; init; }
    public double? MaxLagMs { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Exit code: 0 when something was acknowledged, storage was verified and nothing acknowledged was lost.</summary>
    public int ExitCode => SamplesAcknowledged > 0 && SamplesLost == 0 && Errors.Count == 0 ? 0 : 1;

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static double? Ms(TimeSpan? t) => t is { } v ? Math.Round(v.TotalMilliseconds, 1) : null;

    public void WriteTable(TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        static string Num(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "n/a";
        static string Count(long? v) => v is { } x ? x.ToString("N0", CultureInfo.InvariantCulture) : "n/a";
        o.WriteLine(string.Create(inv, $"Load: {Patients} patients, {Leads} leads at {SampleRateHz} Hz, {DurationSeconds:0.#} s"));
        o.WriteLine(string.Create(inv, $"  Patients in real time     {PatientsInRealTime} / {Patients}  (max lag {Num(MaxLagMs)} ms)"));
        o.WriteLine(string.Create(inv, $"  Batches sent / acked      {Count(BatchesSent)} / {Count(BatchesAcknowledged)}  (retries {Retries}, rejected {Rejected})"));
        o.WriteLine(string.Create(inv, $"  Samples sent              {Count(SamplesSent)}"));
        o.WriteLine(string.Create(inv, $"  Samples acknowledged      {Count(SamplesAcknowledged)}"));
        o.WriteLine(string.Create(inv, $"  Samples stored            {Count(SamplesStored)}"));
        o.WriteLine(string.Create(inv, $"  Samples lost              {Count(SamplesLost)}"));
        o.WriteLine(string.Create(inv, $"  Arrival to stored (ack)   p50 {Num(StoredP50Ms)} ms, p99 {Num(StoredP99Ms)} ms, max {Num(StoredMaxMs)} ms"));
        o.WriteLine(string.Create(inv, $"  Arrival to alert          p50 {Num(AlertP50Ms)} ms, p99 {Num(AlertP99Ms)} ms  ({Alerts} alerts from {PatientsStreamed} streamed patients)"));
        foreach (var e in Errors)
        {
            o.WriteLine($"  error: {e}");
        }
    }
}
