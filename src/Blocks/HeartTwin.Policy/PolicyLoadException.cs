namespace HeartTwin.Policy;

/// <summary>A policy descriptor could not be loaded: the file, the line and the reason are in the message.</summary>
public sealed class PolicyLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PolicyLoadException() { }

    /// <summary>Creates the exception.</summary>
    public PolicyLoadException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public PolicyLoadException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception for a problem at a place in a file.</summary>
    /// <param name="file">The descriptor's path.</param>
    /// <param name="line">1-based line of the first problem (0 when it concerns the whole file).</param>
    /// <param name="problems">Each problem, already prefixed with its place.</param>
    /// <param name="inner">The parser's exception, if any.</param>
    public PolicyLoadException(string file, int line, IReadOnlyList<string> problems, Exception? inner = null)
        : base($"Policy descriptor {file} is invalid:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems ?? []), inner)
    {
        File = file;
        Line = line;
        Problems = problems ?? [];
    }

    /// <summary>The descriptor's path.</summary>
    public string? File { get; }

    /// <summary>1-based line of the first problem (0 when it concerns the whole file).</summary>
    public int Line { get; }

    /// <summary>Every problem found, each as "file:line:column: reason".</summary>
    public IReadOnlyList<string> Problems { get; } = [];
}
