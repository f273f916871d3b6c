namespace HeartTwin.Cli;

/// <summary>The composition root of the <c>hearttwin</c> command.</summary>
internal static class CliApp
{
    public static int Run(string[] args)
    {
        _ = args;
        return 0;
    }
}
