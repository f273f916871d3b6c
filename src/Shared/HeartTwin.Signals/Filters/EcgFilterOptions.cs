namespace HeartTwin.Signals.Filters;

/// <summary>
/// Settings for <see cref="EcgFilterChain"/>. A null frequency switches that stage off.
/// The defaults (0.5 Hz high-pass, 50 Hz notch, 40 Hz low-pass) are a common monitoring-grade ECG band.
/// </summary>
public sealed record EcgFilterOptions
{
    /// <summary>Baseline-wander high-pass cutoff in Hz (-3.01 dB point), or null for none. Default 0.5 Hz.</summary>
    public double? BaselineCutoffHz { get; init; } = 0.5;

    /// <summary>Butterworth order of the baseline high-pass, 1 to 16. Default 2.</summary>
    public int BaselineOrder { get; init; } = 2;

    /// <summary>Mains frequency in Hz (50 or 60 in practice), or null for no notch. Default 50 Hz.</summary>
    public double? MainsHz { get; init; } = 50.0;

    /// <summary>
    /// Quality factor of the mains notch (centre over -3 dB bandwidth). Default 30, i.e. about 1.7 Hz wide at 50 Hz,
    /// which tolerates the ±0.2 Hz drift of a grid with about 12 dB of rejection left at the edges.
    /// </summary>
    public double MainsQuality { get; init; } = 30.0;

    /// <summary>Also notch the second harmonic (2 × <see cref="MainsHz"/>) when it fits below the Nyquist frequency. Default true.</summary>
    public bool MainsHarmonic { get; init; } = true;

    /// <summary>
    /// Low-pass cutoff in Hz (-3.01 dB point), or null for none. Default 40 Hz. It is clamped to
    /// <see cref="EcgFilters.MaxLowPassFraction"/> × the sample rate, so the default also works at 100 Hz.
    /// </summary>
    public double? LowPassCutoffHz { get; init; } = 40.0;

    /// <summary>Butterworth order of the low-pass, 1 to 16. Default 4.</summary>
    public int LowPassOrder { get; init; } = 4;

    /// <summary>
    /// When true (the default) the chain sets its state from the first sample it sees, as if the signal had
    /// held that value forever, so a DC offset at the start (electrode offset, ADC baseline) does not ring
    /// through the high-pass for seconds.
    /// </summary>
    public bool PrimeWithFirstSample { get; init; } = true;
}
