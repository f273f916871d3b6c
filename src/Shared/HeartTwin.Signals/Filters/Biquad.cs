using System.Numerics;

namespace HeartTwin.Signals.Filters;

/// <summary>
/// One second-order section (biquad) of an IIR filter, with its denominator normalised so that a0 = 1:
/// H(z) = (B0 + B1 z⁻¹ + B2 z⁻²) / (1 + A1 z⁻¹ + A2 z⁻²).
/// A first-order section is a biquad with <see cref="B2"/> = <see cref="A2"/> = 0.
/// </summary>
/// <remarks>
/// Coefficients are dimensionless and tied to the sample rate they were designed for; the same
/// coefficients at another sample rate give a filter whose frequencies scale with that rate.
/// Coefficients are kept in double precision because the poles of low-cutoff filters (for example a
/// 0.5 Hz high-pass at 1000 Hz) sit within 0.003 of the unit circle, where float coefficients
/// would move the cutoff noticeably.
/// </remarks>
/// <param name="B0">Numerator coefficient of z⁰.</param>
/// <param name="B1">Numerator coefficient of z⁻¹.</param>
/// <param name="B2">Numerator coefficient of z⁻².</param>
/// <param name="A1">Denominator coefficient of z⁻¹ (a0 is 1).</param>
/// <param name="A2">Denominator coefficient of z⁻² (a0 is 1).</param>
public readonly record struct Biquad(double B0, double B1, double B2, double A1, double A2)
{
    /// <summary>The identity section: output equals input.</summary>
    public static Biquad Identity => new(1, 0, 0, 0, 0);

    /// <summary>True when all five coefficients are finite numbers.</summary>
    public bool IsFinite =>
        double.IsFinite(B0) && double.IsFinite(B1) && double.IsFinite(B2) && double.IsFinite(A1) && double.IsFinite(A2);

    /// <summary>
    /// True when both poles lie strictly inside the unit circle (the stability triangle
    /// |A2| &lt; 1 and |A1| &lt; 1 + A2), so that the section's impulse response decays.
    /// </summary>
    public bool IsStable => Math.Abs(A2) < 1.0 && Math.Abs(A1) < 1.0 + A2;

    /// <summary>Gain at 0 Hz, H(z = 1).</summary>
    public double DcGain => (B0 + B1 + B2) / (1.0 + A1 + A2);

    /// <summary>Returns this section with its numerator multiplied by <paramref name="gain"/>.</summary>
    /// <param name="gain">Dimensionless linear factor.</param>
    /// <returns>The scaled section.</returns>
    public Biquad Scale(double gain) => this with { B0 = B0 * gain, B1 = B1 * gain, B2 = B2 * gain };

    /// <summary>Complex frequency response H(e^{jω}) at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz, normally in [0, sampleRateHz/2].</param>
    /// <param name="sampleRateHz">Sample rate in Hz the coefficients were designed for.</param>
    /// <returns>The complex gain (dimensionless).</returns>
    public Complex Response(double frequencyHz, double sampleRateHz)
    {
        double w = 2.0 * Math.PI * frequencyHz / sampleRateHz;
        // z⁻¹ = e^{-jω}; evaluate numerator and denominator as polynomials in z⁻¹.
        var z1 = Complex.FromPolarCoordinates(1.0, -w);
        var z2 = z1 * z1;
        return (B0 + B1 * z1 + B2 * z2) / (1.0 + A1 * z1 + A2 * z2);
    }

    /// <summary>
    /// Group delay -dφ/dω in samples at <paramref name="frequencyHz"/>, computed exactly from the
    /// coefficients. Undefined (non-finite) at a frequency where the section has a zero on the unit circle,
    /// for example the centre of a notch.
    /// </summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Group delay in samples (at the filter's sample rate).</returns>
    public double GroupDelaySamples(double frequencyHz, double sampleRateHz)
    {
        double w = 2.0 * Math.PI * frequencyHz / sampleRateHz;
        var z1 = Complex.FromPolarCoordinates(1.0, -w);
        var z2 = z1 * z1;
        // For P(z⁻¹) = Σ c_k z⁻ᵏ, the group delay contribution is Re(Σ k c_k z⁻ᵏ / Σ c_k z⁻ᵏ);
        // a filter's delay is the numerator's minus the denominator's.
        var num = B0 + B1 * z1 + B2 * z2;
        var numK = B1 * z1 + 2.0 * B2 * z2;
        var den = 1.0 + A1 * z1 + A2 * z2;
        var denK = A1 * z1 + 2.0 * A2 * z2;
        return (numK / num).Real - (denK / den).Real;
    }
}
