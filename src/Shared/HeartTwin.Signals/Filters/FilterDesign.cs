using System.Numerics;

namespace HeartTwin.Signals.Filters;

/// <summary>
/// Designs IIR filters from specifications in Hz into second-order sections.
/// Butterworth filters come from the analog prototype's poles, frequency-transformed and mapped with the
/// bilinear transform, with the band edges pre-warped so that the digital filter is exactly 3.01 dB down at
/// the requested cutoff(s). The transfer function matches scipy.signal.butter; the sections hold the same pole
/// pairs in the same order (least resonant first, as scipy's zpk2sos does), but the gain and, for odd orders,
/// the zeros are spread over the sections differently.
/// </summary>
public static class FilterDesign
{
    /// <summary>Highest Butterworth order accepted. Beyond this, poles crowd the unit circle and double precision is no longer comfortable.</summary>
    public const int MaxOrder = 16;

    /// <summary>Butterworth low-pass of the given order.</summary>
    /// <param name="order">Filter order, 1 to <see cref="MaxOrder"/>; the roll-off is 6·order dB per octave.</param>
    /// <param name="cutoffHz">-3.01 dB frequency in Hz, strictly between 0 and sampleRateHz/2.</param>
    /// <param name="sampleRateHz">Sample rate in Hz, finite and positive.</param>
    /// <returns>A filter with unity gain at 0 Hz and ceil(order/2) sections.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter ButterworthLowPass(int order, double cutoffHz, double sampleRateHz)
    {
        ValidateSampleRate(sampleRateHz);
        ValidateOrder(order);
        ValidateFrequency(cutoffHz, sampleRateHz, nameof(cutoffHz));
        double wc = Prewarp(cutoffHz, sampleRateHz);
        return BuildLowOrHighPass(order, p => wc * p, zeroAtNyquist: true);
    }

    /// <summary>Butterworth high-pass of the given order.</summary>
    /// <param name="order">Filter order, 1 to <see cref="MaxOrder"/>.</param>
    /// <param name="cutoffHz">-3.01 dB frequency in Hz, strictly between 0 and sampleRateHz/2.</param>
    /// <param name="sampleRateHz">Sample rate in Hz, finite and positive.</param>
    /// <returns>A filter with unity gain at sampleRateHz/2 and zero gain at 0 Hz.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter ButterworthHighPass(int order, double cutoffHz, double sampleRateHz)
    {
        ValidateSampleRate(sampleRateHz);
        ValidateOrder(order);
        ValidateFrequency(cutoffHz, sampleRateHz, nameof(cutoffHz));
        double wc = Prewarp(cutoffHz, sampleRateHz);
        // Low-pass to high-pass: s → ωc/s maps each prototype pole p to ωc/p.
        return BuildLowOrHighPass(order, p => wc / p, zeroAtNyquist: false);
    }

    /// <summary>
    /// Butterworth band-pass: the order-<paramref name="order"/> prototype transformed to a band-pass of
    /// order 2·<paramref name="order"/> (<paramref name="order"/> sections), as scipy.signal.butter(order, [lo, hi], 'bandpass').
    /// </summary>
    /// <param name="order">Prototype order, 1 to <see cref="MaxOrder"/>; each band edge rolls off at 6·order dB per octave.</param>
    /// <param name="lowCutoffHz">Lower -3.01 dB frequency in Hz, strictly between 0 and <paramref name="highCutoffHz"/>.</param>
    /// <param name="highCutoffHz">Upper -3.01 dB frequency in Hz, strictly below sampleRateHz/2.</param>
    /// <param name="sampleRateHz">Sample rate in Hz, finite and positive.</param>
    /// <returns>A filter with unity gain at the band centre, the frequency whose pre-warped value is the geometric mean of the pre-warped edges.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter ButterworthBandPass(int order, double lowCutoffHz, double highCutoffHz, double sampleRateHz)
    {
        ValidateSampleRate(sampleRateHz);
        ValidateOrder(order);
        ValidateFrequency(lowCutoffHz, sampleRateHz, nameof(lowCutoffHz));
        ValidateFrequency(highCutoffHz, sampleRateHz, nameof(highCutoffHz));
        if (!(lowCutoffHz < highCutoffHz))
        {
            throw new ArgumentOutOfRangeException(nameof(lowCutoffHz), lowCutoffHz,
                $"The lower cutoff must be below the upper cutoff ({highCutoffHz} Hz).");
        }

        double w1 = Prewarp(lowCutoffHz, sampleRateHz);
        double w2 = Prewarp(highCutoffHz, sampleRateHz);
        double bw = w2 - w1;
        double w0Squared = w1 * w2;

        // Low-pass to band-pass: s → (s² + ω0²)/(s·bw). Each prototype pole p gives the two roots of
        // s² − p·bw·s + ω0² = 0. Zeros: 'order' at s = 0 (z = +1) and 'order' at s = ∞ (z = −1),
        // so every section gets the numerator 1 − z⁻².
        var upper = new List<Complex>();
        var real = new List<double>();
        foreach (var p in PrototypePoles(order))
        {
            var half = p * bw / 2.0;
            var root = Complex.Sqrt((half * half) - w0Squared);
            if (p.Imaginary != 0.0)
            {
                // Both roots are complex; their conjugates come from the conjugate prototype pole, so each
                // root stands for one conjugate pair (one section).
                upper.Add(Bilinear(half + root));
                upper.Add(Bilinear(half - root));
            }
            else if (root.Imaginary != 0.0)
            {
                // Real prototype pole, narrow band: the two roots are a conjugate pair.
                upper.Add(Bilinear(half + root));
            }
            else
            {
                // Real prototype pole, wide band (bw/2 ≥ ω0): two real poles, which share a section.
                real.Add(Bilinear(half + root).Real);
                real.Add(Bilinear(half - root).Real);
            }
        }

        var sections = new List<(double Radius, Biquad Section)>();
        foreach (var z in upper)
        {
            sections.Add((z.Magnitude, new Biquad(1, 0, -1, -2.0 * z.Real, (z.Real * z.Real) + (z.Imaginary * z.Imaginary))));
        }

        for (int i = 0; i + 1 < real.Count; i += 2)
        {
            sections.Add((Math.Max(Math.Abs(real[i]), Math.Abs(real[i + 1])),
                new Biquad(1, 0, -1, -(real[i] + real[i + 1]), real[i] * real[i + 1])));
        }

        // Unity gain at the digital frequency that the analog centre ω0 maps to.
        double centreHz = sampleRateHz / Math.PI * Math.Atan(Math.Sqrt(w0Squared));
        var ordered = Order(sections);
        for (int i = 0; i < ordered.Length; i++)
        {
            ordered[i] = ordered[i].Scale(1.0 / ordered[i].Response(centreHz, sampleRateHz).Magnitude);
        }

        return new SosFilter(ordered);
    }

    /// <summary>
    /// Second-order IIR notch (band-stop) at <paramref name="centerHz"/> with quality factor
    /// <paramref name="qualityFactor"/>, i.e. a -3 dB bandwidth of centerHz/qualityFactor Hz.
    /// Same design as scipy.signal.iirnotch: zeros on the unit circle at the centre, poles just inside.
    /// </summary>
    /// <param name="centerHz">Notch frequency in Hz, strictly between 0 and sampleRateHz/2.</param>
    /// <param name="qualityFactor">Centre frequency over -3 dB bandwidth; positive (30 is a common mains choice).</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>A one-section filter with unity gain at 0 Hz and sampleRateHz/2 and zero gain at the centre.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter Notch(double centerHz, double qualityFactor, double sampleRateHz)
    {
        if (!(qualityFactor > 0.0) || !double.IsFinite(qualityFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(qualityFactor), qualityFactor, "The quality factor must be a finite number greater than 0.");
        }

        return new SosFilter(NotchSection(centerHz, centerHz / qualityFactor, sampleRateHz));
    }

    /// <summary>Second-order IIR notch at <paramref name="centerHz"/> with a -3 dB bandwidth of <paramref name="bandwidthHz"/>.</summary>
    /// <param name="centerHz">Notch frequency in Hz, strictly between 0 and sampleRateHz/2.</param>
    /// <param name="bandwidthHz">Width in Hz between the -3 dB points; positive and below sampleRateHz/2.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>A one-section filter.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static SosFilter NotchWithBandwidth(double centerHz, double bandwidthHz, double sampleRateHz) =>
        new(NotchSection(centerHz, bandwidthHz, sampleRateHz));

    /// <summary>The single section of <see cref="NotchWithBandwidth"/>.</summary>
    /// <param name="centerHz">Notch frequency in Hz, strictly between 0 and sampleRateHz/2.</param>
    /// <param name="bandwidthHz">Width in Hz between the -3 dB points; positive and below sampleRateHz/2.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>The section.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public static Biquad NotchSection(double centerHz, double bandwidthHz, double sampleRateHz)
    {
        ValidateSampleRate(sampleRateHz);
        ValidateFrequency(centerHz, sampleRateHz, nameof(centerHz));
        ValidateFrequency(bandwidthHz, sampleRateHz, nameof(bandwidthHz));

        // Bilinear design of the analog notch (s² + ω0²)/(s² + s·B + ω0²): the digital -3 dB points are
        // exactly bandwidthHz apart (in the warped sense), with β = tan(π·bandwidth/fs).
        double w0 = 2.0 * Math.PI * centerHz / sampleRateHz;
        double beta = Math.Tan(Math.PI * bandwidthHz / sampleRateHz);
        double gain = 1.0 / (1.0 + beta);
        double c = -2.0 * Math.Cos(w0) * gain;
        return new Biquad(gain, c, gain, c, (2.0 * gain) - 1.0);
    }

    private static SosFilter BuildLowOrHighPass(int order, Func<Complex, Complex> transform, bool zeroAtNyquist)
    {
        // Low-pass zeros sit at z = −1 (from s = ∞); high-pass zeros at z = +1 (from s = 0).
        double sign = zeroAtNyquist ? 1.0 : -1.0;
        var sections = new List<(double Radius, Biquad Section)>();
        foreach (var p in PrototypePoles(order))
        {
            var z = Bilinear(transform(p));
            Biquad section = p.Imaginary == 0.0
                ? new Biquad(1, sign, 0, -z.Real, 0)
                : new Biquad(1, 2.0 * sign, 1, -2.0 * z.Real, (z.Real * z.Real) + (z.Imaginary * z.Imaginary));
            sections.Add((z.Magnitude, section));
        }

        var ordered = Order(sections);
        for (int i = 0; i < ordered.Length; i++)
        {
            // Unity gain where the filter passes: 0 Hz (z = 1) for low-pass, fs/2 (z = −1) for high-pass.
            var q = ordered[i];
            double g = zeroAtNyquist
                ? (q.B0 + q.B1 + q.B2) / (1.0 + q.A1 + q.A2)
                : (q.B0 - q.B1 + q.B2) / (1.0 - q.A1 + q.A2);
            ordered[i] = q.Scale(1.0 / g);
        }

        return new SosFilter(ordered);
    }

    /// <summary>
    /// Poles of the unit-cutoff analog Butterworth prototype in the upper half-plane, then the real pole
    /// −1 when the order is odd. The lower half-plane poles are their conjugates.
    /// </summary>
    private static List<Complex> PrototypePoles(int order)
    {
        var poles = new List<Complex>(order);
        for (int k = 0; k < order / 2; k++)
        {
            // Angles π(2k + n + 1)/(2n) for k < n/2 lie in (π/2, π).
            poles.Add(Complex.FromPolarCoordinates(1.0, Math.PI * ((2 * k) + order + 1) / (2.0 * order)));
        }

        if (order % 2 == 1)
        {
            poles.Add(new Complex(-1.0, 0.0));
        }

        return poles;
    }

    /// <summary>
    /// Bilinear transform for an analog pole expressed in pre-warped units (s' = s/(2·fs)), so that the
    /// digital frequency f corresponds to the analog frequency tan(π·f/fs): z = (1 + s')/(1 − s').
    /// </summary>
    private static Complex Bilinear(Complex s) => (1.0 + s) / (1.0 - s);

    private static double Prewarp(double frequencyHz, double sampleRateHz) => Math.Tan(Math.PI * frequencyHz / sampleRateHz);

    /// <summary>Least resonant sections first, so that early sections do not amplify what later ones must cut.</summary>
    private static Biquad[] Order(List<(double Radius, Biquad Section)> sections)
    {
        sections.Sort((a, b) => a.Radius.CompareTo(b.Radius));
        return sections.ConvertAll(s => s.Section).ToArray();
    }

    internal static void ValidateSampleRate(double sampleRateHz)
    {
        if (!(sampleRateHz > 0.0) || !double.IsFinite(sampleRateHz))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "The sample rate must be a finite number of Hz greater than 0.");
        }
    }

    private static void ValidateOrder(int order)
    {
        if (order is < 1 or > MaxOrder)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, $"The filter order must be between 1 and {MaxOrder}.");
        }
    }

    private static void ValidateFrequency(double frequencyHz, double sampleRateHz, string paramName)
    {
        double nyquist = sampleRateHz / 2.0;
        if (!(frequencyHz > 0.0 && frequencyHz < nyquist))
        {
            throw new ArgumentOutOfRangeException(paramName, frequencyHz,
                $"The frequency must be strictly between 0 and the Nyquist frequency ({nyquist} Hz at a sample rate of {sampleRateHz} Hz).");
        }
    }
}
