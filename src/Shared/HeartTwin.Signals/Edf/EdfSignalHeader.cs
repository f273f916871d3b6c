namespace HeartTwin.Signals.Edf;

/// <summary>
/// The per-signal part of an EDF header, fields in the order the specification lists them,
/// with trailing spaces removed from text fields.
/// </summary>
/// <param name="Label">Signal label, for example "ECG II" or "EDF Annotations" (16 characters at most).</param>
/// <param name="TransducerType">Transducer type, for example "AgAgCl electrode" (80 characters at most).</param>
/// <param name="PhysicalDimension">Physical unit of the scaled values, for example "mV" or "uV" (8 characters at most).</param>
/// <param name="PhysicalMinimum">Physical value, in <paramref name="PhysicalDimension"/>, that <paramref name="DigitalMinimum"/> maps to.</param>
/// <param name="PhysicalMaximum">Physical value, in <paramref name="PhysicalDimension"/>, that <paramref name="DigitalMaximum"/> maps to.</param>
/// <param name="DigitalMinimum">Smallest digital value (ADC counts) of the signal.</param>
/// <param name="DigitalMaximum">Largest digital value (ADC counts) of the signal.</param>
/// <param name="Prefiltering">Prefiltering description, for example "HP:0.1Hz LP:75Hz" (80 characters at most).</param>
/// <param name="SamplesPerRecord">Number of samples of this signal in each data record (for an annotation channel: number of 2-byte words).</param>
/// <param name="Reserved">The signal's reserved field (32 characters at most).</param>
public sealed record EdfSignalHeader(
    string Label,
    string TransducerType,
    string PhysicalDimension,
    double PhysicalMinimum,
    double PhysicalMaximum,
    int DigitalMinimum,
    int DigitalMaximum,
    string Prefiltering,
    int SamplesPerRecord,
    string Reserved)
{
    /// <summary>The label EDF+ reserves for annotation channels.</summary>
    public const string AnnotationLabel = "EDF Annotations";

    /// <summary>Whether this is an EDF+ annotation channel (label "EDF Annotations") rather than a sampled signal.</summary>
    public bool IsAnnotation => string.Equals(Label, AnnotationLabel, StringComparison.Ordinal);

    /// <summary>
    /// Physical units per digital count: (PhysicalMaximum − PhysicalMinimum) / (DigitalMaximum − DigitalMinimum).
    /// This is also the size of one quantisation step (1 LSB) in physical units.
    /// </summary>
    public double Gain => (PhysicalMaximum - PhysicalMinimum) / ((double)DigitalMaximum - DigitalMinimum);

    /// <summary>Physical value of digital zero, so that physical = Gain × digital + Offset.</summary>
    public double Offset => PhysicalMinimum - (Gain * DigitalMinimum);

    /// <summary>
    /// Converts one digital value to physical units with the EDF formula
    /// physical = (digital − DigitalMinimum) × (PhysicalMaximum − PhysicalMinimum) / (DigitalMaximum − DigitalMinimum) + PhysicalMinimum.
    /// </summary>
    /// <param name="digital">Digital value in ADC counts.</param>
    /// <returns>The value in <see cref="PhysicalDimension"/> units.</returns>
    public double ToPhysical(int digital) => ((digital - (double)DigitalMinimum) * Gain) + PhysicalMinimum;
}
