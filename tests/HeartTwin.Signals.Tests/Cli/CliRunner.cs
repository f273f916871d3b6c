using HeartTwin.Cli;

namespace HeartTwin.Signals.Tests.Cli;

/// <summary>Runs the <c>hearttwin</c> command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        var code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Runs a command until it ends or <paramref name="stop"/> fires (the command sees it as Ctrl+C).</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(CancellationToken stop, params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        var code = await CliApp.RunAsync(args, o, e, stop);
        return (code, o.ToString(), e.ToString());
    }
}
