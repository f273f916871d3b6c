using HeartTwin.Inference;
using HeartTwin.Signals;

namespace HeartTwin.Cli.Commands;

/// <summary>Turns expected failures (bad files, bad arguments) into one clear line on stderr and exit code 2.</summary>
internal static class CommandErrors
{
    public const int BadInput = 2;

    private static bool IsExpected(Exception e) =>
        e is SignalFormatException or UsageException or IOException or UnauthorizedAccessException
            or ModelLoadException or ModelNotFoundException or ModelSpecMismatchException;

    public static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.All(IsExpected))
        {
            // Records are processed in parallel; report each bad file once.
            foreach (var message in e.Flatten().InnerExceptions.Select(x => x.Message).Distinct(StringComparer.Ordinal))
            {
                stderr.WriteLine($"hearttwin: {message}");
            }

            return BadInput;
        }
        catch (Exception e) when (IsExpected(e))
        {
            stderr.WriteLine($"hearttwin: {e.Message}");
            return BadInput;
        }
    }
}

/// <summary>A command-line argument that is well-formed but cannot be used.</summary>
internal sealed class UsageException : Exception
{
    public UsageException() { }

    public UsageException(string message) : base(message) { }

    public UsageException(string message, Exception inner) : base(message, inner) { }
}
