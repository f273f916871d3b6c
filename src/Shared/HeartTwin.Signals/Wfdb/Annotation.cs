namespace HeartTwin.Signals.Wfdb;

/// <summary>One WFDB annotation.</summary>
/// <param name="Sample">Time as a sample (frame) index from the start of the record.</param>
/// <param name="Code">Annotation code (see <see cref="AnnotationCode"/>).</param>
/// <param name="SubType">Subtype, −128..127 (for noise annotations, which leads are noisy).</param>
/// <param name="Channel">Signal number the annotation refers to, 0..255.</param>
/// <param name="Number">Annotator-defined number, −128..127.</param>
/// <param name="Aux">Auxiliary text, for example the rhythm <c>(AFIB</c>, or null.</param>
public sealed record Annotation(long Sample, int Code, int SubType = 0, int Channel = 0, int Number = 0, string? Aux = null)
{
    /// <summary>Whether this annotation marks a beat.</summary>
    public bool IsBeat => AnnotationCode.IsBeat(Code);

    /// <summary>The annotation's mnemonic, such as N or V.</summary>
    public string Mnemonic => AnnotationCode.Mnemonic(Code);

    /// <summary>For a rhythm change, the rhythm without its opening parenthesis (AFIB, N, VT …); otherwise null.</summary>
    public string? RhythmName =>
        Code == AnnotationCode.Rhythm && Aux is { Length: > 0 } a ? a.TrimStart('(').TrimEnd('\0').Trim() : null;
}
