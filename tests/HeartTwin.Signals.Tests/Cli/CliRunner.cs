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
}
