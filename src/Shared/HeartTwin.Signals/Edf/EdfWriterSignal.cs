namespace HeartTwin.Signals.Edf;

/// <summary>One sampled signal to write with <see cref="EdfWriter"/>, given in physical units.</summary>
/// <param name="Label">Signal label, printable ASCII, 16 characters at most (for example "ECG II").</param>
/// <param name="PhysicalDimension">Unit of <paramref name="Samples"/>, printable ASCII, 8 characters at most (for example "mV").</param>
/// <param name="SamplesPerRecord">Samples per data record; the sample rate in Hz is this divided by the record duration in seconds.</param>
/// <param name="Samples">Samples in <paramref name="PhysicalDimension"/>; the length must be a whole number of records.</param>
/// <param name="PhysicalMinimum">Physical value mapped to <see cref="DigitalMinimum"/>; samples below it are clipped.</param>
/// <param name="PhysicalMaximum">Physical value mapped to <see cref="DigitalMaximum"/>; samples above it are clipped.</param>
public sealed record EdfWriterSignal(
    string Label,
    string PhysicalDimension,
    int SamplesPerRecord,
    float[] Samples,
    double PhysicalMinimum,
    double PhysicalMaximum)
{
    /// <summary>Smallest digital value (ADC counts); default −32768, the full 16-bit range.</summary>
    public int DigitalMinimum { get; init; } = short.MinValue;

    /// <summary>Largest digital value (ADC counts); default 32767.</summary>
    public int DigitalMaximum { get; init; } = short.MaxValue;

    /// <summary>Transducer type, printable ASCII, 80 characters at most.</summary>
    public string TransducerType { get; init; } = "";

    /// <summary>Prefiltering description (for example "HP:0.5Hz LP:40Hz"), printable ASCII, 80 characters at most.</summary>
    public string Prefiltering { get; init; } = "";

    /// <summary>
    /// Creates a signal whose physical range is the range of its samples, so nothing is clipped and the
    /// quantisation step is as small as the 16-bit range allows.
    /// </summary>
    /// <param name="label">Signal label.</param>
    /// <param name="physicalDimension">Unit of the samples, for example "mV".</param>
    /// <param name="samplesPerRecord">Samples per data record.</param>
    /// <param name="samples">Samples in <paramref name="physicalDimension"/>; must be finite.</param>
    /// <returns>The signal description.</returns>
    public static EdfWriterSignal FromSamples(string label, string physicalDimension, int samplesPerRecord, float[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        double min = double.PositiveInfinity;
        double max = double.NegativeInfinity;
        foreach (float s in samples)
        {
            if (!float.IsFinite(s))
            {
                throw new ArgumentException($"Signal '{label}' contains a non-finite sample.", nameof(samples));
            }

            min = Math.Min(min, s);
            max = Math.Max(max, s);
        }

        if (samples.Length == 0)
        {
            (min, max) = (-1, 1);
        }
        else if (min == max)
        {
            // EDF needs distinct physical limits; widen a constant signal symmetrically.
            double pad = Math.Max(1e-3, Math.Abs(min) * 1e-3);
            (min, max) = (min - pad, max + pad);
        }

        return new EdfWriterSignal(label, physicalDimension, samplesPerRecord, samples, min, max);
    }
}
