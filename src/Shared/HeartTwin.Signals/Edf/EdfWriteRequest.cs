namespace HeartTwin.Signals.Edf;

/// <summary>Everything <see cref="EdfWriter"/> needs to write one EDF or EDF+C file.</summary>
public sealed record EdfWriteRequest
{
    /// <summary>Start date and time of the recording (to the second; the year must lie in 1985–2084).</summary>
    public required DateTime StartTime { get; init; }

    /// <summary>Sampled signals in file order; at least one.</summary>
    public required IReadOnlyList<EdfWriterSignal> Signals { get; init; }

    /// <summary>Annotations to store in the "EDF Annotations" channel (EDF+ only). Texts must not contain 0x00, 0x14 or 0x15.</summary>
    public IReadOnlyList<EdfAnnotation> Annotations { get; init; } = [];

    /// <summary>Duration of one data record in seconds; positive and expressible in 8 characters (for example 1 or 0.1).</summary>
    public double RecordDurationSeconds { get; init; } = 1.0;

    /// <summary>Write EDF+C (with an annotation channel) rather than plain EDF; default true.</summary>
    public bool EdfPlus { get; init; } = true;

    /// <summary>Local patient identification, printable ASCII, 80 characters at most. EDF+ form: "code sex birthdate name", "X" for unknown.</summary>
    public string PatientId { get; init; } = "X X X X";

    /// <summary>
    /// Local recording identification, printable ASCII, 80 characters at most. When null, EDF+ files get
    /// "Startdate dd-MMM-yyyy X X X" and EDF files an empty field.
    /// </summary>
    public string? RecordingId { get; init; }
}
