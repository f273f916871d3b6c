using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Storage.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository, or HEARTTWIN_MITDB).</summary>
public static class TestData
{
    private static readonly Dictionary<string, int[][]> Cache = [];

    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    public static IReadOnlyList<string> MitDbRecords =>
        File.ReadAllLines(Path.Combine(MitDb, "RECORDS")).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    public static TheoryData<string> RecordNames()
    {
        var data = new TheoryData<string>();
        foreach (var r in MitDbRecords)
        {
            data.Add(r);
        }

        return data;
    }

    /// <summary>A record's ADC samples, one array per lead (cached: several tests read the same records).</summary>
    public static int[][] Adc(string record)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(record, out var leads))
            {
                var r = WfdbRecord.Read(MitDb, record);
                leads = new int[r.SignalCount][];
                for (int s = 0; s < r.SignalCount; s++)
                {
                    leads[s] = r.Adc(s).ToArray();
                }

                Cache[record] = leads;
            }

            return leads;
        }
    }

    /// <summary>The record's header (lead names, gains, baselines).</summary>
    public static WfdbHeader Header(string record)
    {
        lock (Headers)
        {
            if (!Headers.TryGetValue(record, out var header))
            {
                Headers[record] = header = WfdbHeader.Read(Path.Combine(MitDb, record + ".hea"));
            }

            return header;
        }
    }

    private static readonly Dictionary<string, WfdbHeader> Headers = [];

}

/// <summary>A fresh temporary folder, removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hearttwin-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
