namespace HeartTwin.Testing;

/// <summary>
/// Where every test project finds the repository and the shared MIT-BIH records: one copy, linked into each test project
/// by tests/Directory.Build.props, so that the rule (HEARTTWIN_MITDB, else shared/data/mitdb beside the repository) lives once.
/// </summary>
internal static class SharedTestPaths
{
    private static readonly Lazy<string> MitDbPath = new(LocateMitDb);
    private static readonly Lazy<string> RepoRootPath = new(LocateRepoRoot);

    /// <summary>The shared MIT-BIH records.</summary>
    public static string MitDb => MitDbPath.Value;

    /// <summary>The repository's root folder (the one holding HeartTwin.slnx).</summary>
    public static string RepoRoot => RepoRootPath.Value;

    private static string LocateMitDb()
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

    private static string LocateRepoRoot()
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
