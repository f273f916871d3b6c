namespace HeartTwin.Storage.Compression;

/// <summary>A stored sample chunk could not be decoded: it is truncated, corrupt or of an unknown format. Never ignored: no data is better than wrong data.</summary>
public sealed class SampleCodecException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SampleCodecException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SampleCodecException() { }

    /// <summary>Creates the exception.</summary>
    public SampleCodecException(string message, Exception inner) : base(message, inner) { }

    internal static SampleCodecException Truncated() => new("The sample chunk ends before its data does: the blob is truncated or corrupt.");
}
