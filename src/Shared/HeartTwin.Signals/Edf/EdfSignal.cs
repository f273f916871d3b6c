namespace HeartTwin.Signals.Edf;

/// <summary>
/// One sampled (non-annotation) signal of an EDF file: its header, the raw digital samples and,
/// computed on first use, the samples scaled to physical units.
/// </summary>
public sealed class EdfSignal
{
    private float[]? _physical;

    /// <summary>Creates a signal from its header, raw samples and sample rate.</summary>
    /// <param name="header">The signal's header; must not be an annotation channel.</param>
    /// <param name="digital">Raw samples in ADC counts, all data records concatenated.</param>
    /// <param name="sampleRateHz">Sample rate in Hz (samples per record ÷ record duration in seconds).</param>
    public EdfSignal(EdfSignalHeader header, short[] digital, double sampleRateHz)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(digital);
        if (header.IsAnnotation)
        {
            throw new ArgumentException("An annotation channel is not a sampled signal.", nameof(header));
        }

        if (!(sampleRateHz > 0) || double.IsInfinity(sampleRateHz))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "Sample rate must be a positive, finite number of Hz.");
        }

        Header = header;
        Digital = digital;
        SampleRateHz = sampleRateHz;
    }

    /// <summary>The signal's header fields.</summary>
    public EdfSignalHeader Header { get; }

    /// <summary>Signal label, for example "ECG II".</summary>
    public string Label => Header.Label;

    /// <summary>Physical unit of <see cref="Physical"/>, for example "mV".</summary>
    public string Units => Header.PhysicalDimension;

    /// <summary>Sample rate in Hz.</summary>
    public double SampleRateHz { get; }

    /// <summary>Number of samples.</summary>
    public int Length => Digital.Length;

    /// <summary>Raw samples in ADC counts (little-endian int16 in the file), all data records concatenated.</summary>
    public short[] Digital { get; }

    /// <summary>
    /// Samples in <see cref="Units"/>, scaled with the EDF formula (see <see cref="EdfSignalHeader.ToPhysical"/>).
    /// Computed once on first access and then cached, so callers that need only raw counts pay nothing.
    /// </summary>
    public float[] Physical => _physical ?? Interlocked.CompareExchange(ref _physical, ComputePhysical(), null) ?? _physical!;

    /// <summary>Scales a range of the raw samples to physical units into <paramref name="destination"/> without allocating.</summary>
    /// <param name="start">Index of the first sample to convert.</param>
    /// <param name="destination">Receives <c>destination.Length</c> samples in <see cref="Units"/>.</param>
    public void CopyPhysical(int start, Span<float> destination)
    {
        if (start < 0 || start > Digital.Length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Range [{start}, {start + (long)destination.Length}) lies outside the {Digital.Length} samples of signal '{Label}'.");
        }

        // Same arithmetic as the EDF formula (and ToPhysical), so both give identical values.
        double gain = Header.Gain;
        double digitalMinimum = Header.DigitalMinimum;
        double physicalMinimum = Header.PhysicalMinimum;
        ReadOnlySpan<short> source = Digital.AsSpan(start, destination.Length);
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = (float)(((source[i] - digitalMinimum) * gain) + physicalMinimum);
        }
    }

    private float[] ComputePhysical()
    {
        var result = new float[Digital.Length];
        CopyPhysical(0, result);
        return result;
    }
}
