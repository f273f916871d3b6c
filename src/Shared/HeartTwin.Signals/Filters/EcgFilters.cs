namespace HeartTwin.Signals.Filters;

/// <summary>
/// Ready-made causal ECG filters designed for a given sample rate. Each returns a new <see cref="SosFilter"/>
/// with zero state; <see cref="EcgFilterChain"/> composes them.
/// </summary>
public static class EcgFilters
{
    /// <summary>
    /// A low-pass cutoff is clamped to this fraction of the sample rate (0.4 × fs, i.e. 80 % of Nyquist), where a
    /// bilinear Butterworth is still well-behaved and leaves a band for the roll-off before Nyquist.
    /// </summary>
    public const double MaxLowPassFraction = 0.4;

    /// <summary>Baseline-wander removal: Butterworth high-pass.</summary>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="cutoffHz">-3.01 dB frequency in Hz. Default 0.5 Hz, below the ~0.67 Hz of a 40 bpm heart rate.</param>
    /// <param name="order">Butterworth order. Default 2: higher orders ring longer and distort the ST segment more.</param>
    /// <returns>The filter.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter BaselineWander(double sampleRateHz, double cutoffHz = 0.5, int order = 2) =>
        FilterDesign.ButterworthHighPass(order, cutoffHz, sampleRateHz);

    /// <summary>
    /// Mains-interference notch at <paramref name="mainsHz"/>, plus one at the second harmonic when
    /// <paramref name="includeHarmonic"/> is set and it fits below Nyquist.
    /// </summary>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="mainsHz">Mains frequency in Hz (50 or 60).</param>
    /// <param name="quality">Quality factor, centre over -3 dB bandwidth. Default 30.</param>
    /// <param name="includeHarmonic">Also notch 2 × mainsHz. Default true.</param>
    /// <returns>The notch filter, or null when even the fundamental does not fit below Nyquist (for example 50 Hz at 100 Hz).</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter? MainsNotch(double sampleRateHz, double mainsHz = 50.0, double quality = 30.0, bool includeHarmonic = true)
    {
        var notches = MainsSections(sampleRateHz, mainsHz, quality, includeHarmonic);
        return notches.Count == 0 ? null : new SosFilter(notches.ConvertAll(n => n.Section).ToArray());
    }

    /// <summary>Anti-noise (EMG, high-frequency) Butterworth low-pass, clamped to <see cref="MaxLowPassFraction"/> × fs.</summary>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="cutoffHz">Requested -3.01 dB frequency in Hz. Default 40 Hz.</param>
    /// <param name="order">Butterworth order. Default 4.</param>
    /// <returns>The filter.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter LowPass(double sampleRateHz, double cutoffHz = 40.0, int order = 4) =>
        FilterDesign.ButterworthLowPass(order, ClampLowPass(cutoffHz, sampleRateHz), sampleRateHz);

    /// <summary>The low-pass cutoff actually used at a sample rate: min(cutoffHz, <see cref="MaxLowPassFraction"/> × fs).</summary>
    /// <param name="cutoffHz">Requested cutoff in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Cutoff in Hz.</returns>
    public static double ClampLowPass(double cutoffHz, double sampleRateHz)
    {
        FilterDesign.ValidateSampleRate(sampleRateHz);
        return Math.Min(cutoffHz, MaxLowPassFraction * sampleRateHz);
    }

    internal static List<(double CenterHz, Biquad Section)> MainsSections(double sampleRateHz, double mainsHz, double quality, bool includeHarmonic)
    {
        FilterDesign.ValidateSampleRate(sampleRateHz);
        if (!(mainsHz > 0.0) || !double.IsFinite(mainsHz))
        {
            throw new ArgumentOutOfRangeException(nameof(mainsHz), mainsHz, "The mains frequency must be a finite number of Hz greater than 0 (normally 50 or 60).");
        }

        if (!(quality > 0.0) || !double.IsFinite(quality))
        {
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "The quality factor must be a finite number greater than 0.");
        }

        var sections = new List<(double CenterHz, Biquad Section)>(2);
        int harmonics = includeHarmonic ? 2 : 1;
        for (int h = 1; h <= harmonics; h++)
        {
            double f0 = h * mainsHz;
            double bandwidth = f0 / quality;
            // Only notch a line whose whole -3 dB band lies below Nyquist; at or above it the interference cannot
            // be represented as such (the recording's own anti-aliasing, and the low-pass, deal with it).
            if (f0 + bandwidth < sampleRateHz / 2.0)
            {
                sections.Add((f0, FilterDesign.NotchSection(f0, bandwidth, sampleRateHz)));
            }
        }

        return sections;
    }
}
