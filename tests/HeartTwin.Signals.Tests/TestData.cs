namespace HeartTwin.Signals.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository).</summary>
public static class TestData
{
    private static readonly Lazy<string> MitDbPath = new(Locate);

    public static string MitDb => MitDbPath.Value;

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

    /// <summary>The repository's root folder (the one holding HeartTwin.slnx).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "HeartTwin.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("HeartTwin.slnx not found above the test binaries.");
        }
    }

    /// <summary>The serving tests' tiny ONNX fixture (random weights: it exercises the pipeline, not accuracy).</summary>
    public static string FixtureModel => Path.Combine(RepoRoot, "tests", "HeartTwin.Inference.Tests", "Fixtures", "tiny-beat.onnx");

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("HEARTTWIN_MITDB");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "mitdb");
            if (File.Exists(Path.Combine(candidate, "RECORDS")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("The MIT-BIH records were not found: expected shared/data/mitdb beside the repository, or HEARTTWIN_MITDB.");
    }
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
