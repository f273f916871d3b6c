using HeartTwin.Contracts;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Connector.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository, or HEARTTWIN_MITDB).</summary>
public static class TestData
{
    private static readonly Lazy<WfdbRecord> Record101 = new(() => WfdbRecord.Read(MitDb, "101"));

    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    /// <summary>Record 101 (2 leads, 360 Hz, 11-bit ADC).</summary>
    public static WfdbRecord Mit101 => Record101.Value;

    /// <summary>Leads of a MIT-BIH record as the Connector's contract describes them.</summary>
    public static IReadOnlyList<LeadInfo> Leads(WfdbRecord record) =>
        [.. record.Header.Signals.Select(s => new LeadInfo(s.Description, s.AdcGain, s.Baseline, s.Units))];

    /// <summary>One batch of <paramref name="count"/> frames from <paramref name="offset"/>, every lead.</summary>
    public static int[][] Slice(WfdbRecord record, int offset, int count) =>
        [.. Enumerable.Range(0, record.SignalCount).Select(s => record.Adc(s).Slice(offset, count).ToArray())];
}
