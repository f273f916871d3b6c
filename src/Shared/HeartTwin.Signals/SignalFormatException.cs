namespace HeartTwin.Signals;

/// <summary>
/// Thrown when a signal file (EDF, EDF+, WFDB, ...) is malformed or internally inconsistent.
/// The message names the file and says what is wrong, so it can be shown to a user as is.
/// </summary>
public sealed class SignalFormatException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public SignalFormatException()
        : base("The signal file is malformed.")
    {
    }

    /// <summary>Creates the exception with a message that names the file and the problem.</summary>
    /// <param name="message">What is wrong, including the file name.</param>
    public SignalFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that revealed the problem.</summary>
    /// <param name="message">What is wrong, including the file name.</param>
    /// <param name="innerException">The underlying error, for example a decoding failure.</param>
    public SignalFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
