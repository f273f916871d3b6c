namespace HeartTwin.Signals.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository).</summary>
public static class TestData
{
    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    /// <summary>The repository's root folder (the one holding HeartTwin.slnx).</summary>
    public static string RepoRoot => HeartTwin.Testing.SharedTestPaths.RepoRoot;

    public static IReadOnlyList<string> MitDbRecords =>
        File.ReadAllLines(Path.Combine(MitDb, "RECORDS")).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    /// <summary>The shared record names, as xunit theory data.</summary>
    public static TheoryData<string> RecordNames()
    {
        var data = new TheoryData<string>();
        foreach (var r in MitDbRecords)
        {
            data.Add(r);
        }

        return data;
    }

    /// <summary>A fresh temporary folder, removed by the caller's <c>using</c>.</summary>
    internal static TempDir NewTempDir() => new();

    /// <summary>The serving tests' tiny ONNX fixture (random weights: it exercises the pipeline, not accuracy).</summary>
    public static string FixtureModel => Path.Combine(RepoRoot, "tests", "HeartTwin.Inference.Tests", "Fixtures", "tiny-beat.onnx");

}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hearttwin-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Copies record files from the shared database into this folder.</summary>
    public void CopyRecord(string record, params string[] extensions)
    {
        foreach (var ext in extensions)
        {
            File.Copy(System.IO.Path.Combine(TestData.MitDb, record + ext), System.IO.Path.Combine(Path, record + ext));
        }
    }

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
