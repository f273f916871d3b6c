using System.CommandLine;
using HeartTwin.Cli.Commands;

namespace HeartTwin.Cli;

/// <summary>The composition root of the <c>hearttwin</c> command.</summary>
internal static class CliApp
{
    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs a command that stops cleanly when <paramref name="cancellationToken"/> fires, as Ctrl+C does.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var root = new RootCommand("HeartTwin: a heart digital twin. Signal tools, evaluation and (later) the twin itself.");
        root.Subcommands.Add(InfoCommand.Create(stdout, stderr));
        var eval = new Command("eval", "Evaluate detectors and models on a WFDB database with the ANSI/AAMI EC57 metrics.");
        eval.Subcommands.Add(EvalQrsCommand.Create(stdout, stderr));
        eval.Subcommands.Add(EvalBeatsCommand.Create(stdout, stderr));
        eval.Subcommands.Add(EvalAfCommand.Create(stdout, stderr));
        root.Subcommands.Add(eval);
        var dataset = new Command("dataset", "Export training datasets from a WFDB database.");
        dataset.Subcommands.Add(DatasetBeatsCommand.Create(stdout, stderr));
        root.Subcommands.Add(dataset);
        root.Subcommands.Add(ClassifyCommand.Create(stdout, stderr));
        root.Subcommands.Add(Simulation.SimulateCommand.Create(stdout, stderr));
        root.Subcommands.Add(Load.LoadCommand.Create(stdout, stderr));
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return root.Parse(args).InvokeAsync(config, cancellationToken);
    }
}
