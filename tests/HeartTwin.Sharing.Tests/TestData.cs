using HeartTwin.Contracts;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Sharing.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository, or HEARTTWIN_MITDB).</summary>
public static class TestData
{
    private static readonly Lazy<(IReadOnlyList<LeadInfo> Leads, int[][] Samples, double Rate)> Record101 = new(() => Read("101", 3600));

    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    /// <summary>The first 10 s of MIT-BIH record 101: leads with gain and baseline, integer samples per lead.</summary>
    public static (IReadOnlyList<LeadInfo> Leads, int[][] Samples, double Rate) First10SecondsOf101 => Record101.Value;

    private static (IReadOnlyList<LeadInfo>, int[][], double) Read(string record, int samples)
    {
        var r = WfdbRecord.Read(MitDb, record);
        var leads = r.Header.Signals.Select(s => new LeadInfo(s.Description, s.AdcGain, s.Baseline, s.Units)).ToList();
        var data = Enumerable.Range(0, r.SignalCount).Select(i => r.Adc(i)[..samples].ToArray()).ToArray();
        return (leads, data, r.SamplingFrequencyHz);
    }

}
