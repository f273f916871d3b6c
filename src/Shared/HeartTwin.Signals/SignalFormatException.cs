namespace HeartTwin.Signals;

/// <summary>
/// A recording or annotation file that cannot be read as its format says: truncated, inconsistent or malformed.
/// The message names the file and what is wrong, so that a command-line user can act on it.
/// </summary>
public sealed class SignalFormatException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public SignalFormatException() : base("The signal file is malformed.") { }

    /// <summary>Creates the exception with a message that names the file and the problem.</summary>
    public SignalFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public SignalFormatException(string message, Exception innerException) : base(message, innerException) { }
}
