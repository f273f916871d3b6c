using System.Numerics;

namespace HeartTwin.Signals.Filters;

/// <summary>
/// A streaming IIR filter made of a cascade of second-order sections, each run in transposed
/// direct form II with double-precision state. Float samples go in and out; everything between
/// sections stays in double so that chunked and per-sample processing give identical results.
/// </summary>
/// <remarks>
/// The filter is causal: each output depends only on the current and earlier inputs, so it adds a
/// frequency-dependent delay (see <see cref="GroupDelaySamples"/>). Use <see cref="ZeroPhase"/> for
/// offline work where that delay matters. The per-sample methods do not allocate. An instance carries
/// state and is not thread-safe; give each lead (channel) its own instance, for example via <see cref="Clone"/>.
/// </remarks>
public sealed class SosFilter
{
    private readonly Biquad[] _sections;

    // Two state variables per section (z1, z2), interleaved.
    private readonly double[] _state;

    /// <summary>Creates a filter from its sections, applied in the order given.</summary>
    /// <param name="sections">At least one section; coefficients must be finite.</param>
    /// <exception cref="ArgumentException">No sections, or a section has a non-finite coefficient.</exception>
    public SosFilter(params ReadOnlySpan<Biquad> sections)
    {
        if (sections.IsEmpty)
        {
            throw new ArgumentException("A filter needs at least one second-order section.", nameof(sections));
        }

        for (int i = 0; i < sections.Length; i++)
        {
            if (!sections[i].IsFinite)
            {
                throw new ArgumentException($"Section {i} has a non-finite coefficient: {sections[i]}.", nameof(sections));
            }
        }

        _sections = sections.ToArray();
        _state = new double[2 * _sections.Length];
    }

    /// <summary>The sections, in processing order.</summary>
    public ReadOnlySpan<Biquad> Sections => _sections;

    /// <summary>Number of second-order sections.</summary>
    public int SectionCount => _sections.Length;

    /// <summary>
    /// Filter order: two per section, less one for each first-order section (B2 = A2 = 0).
    /// </summary>
    public int Order
    {
        get
        {
            int order = 0;
            foreach (var s in _sections)
            {
                order += s.A2 == 0.0 && s.B2 == 0.0 ? 1 : 2;
            }

            return order;
        }
    }

    /// <summary>True when every section is stable (all poles strictly inside the unit circle).</summary>
    public bool IsStable => Array.TrueForAll(_sections, s => s.IsStable);

    /// <summary>Gain at 0 Hz (product of the sections' DC gains).</summary>
    public double DcGain
    {
        get
        {
            double g = 1.0;
            foreach (var s in _sections)
            {
                g *= s.DcGain;
            }

            return g;
        }
    }

    /// <summary>Builds one filter that applies <paramref name="filters"/> one after another.</summary>
    /// <param name="filters">Filters in processing order; their sections are copied, their state is not.</param>
    /// <returns>A new filter with zero state.</returns>
    public static SosFilter Cascade(params ReadOnlySpan<SosFilter> filters)
    {
        var all = new List<Biquad>();
        foreach (var f in filters)
        {
            ArgumentNullException.ThrowIfNull(f);
            all.AddRange(f._sections);
        }

        return new SosFilter(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(all));
    }

    /// <summary>A new filter with the same sections and zero state.</summary>
    /// <returns>The copy.</returns>
    public SosFilter Clone() => new(_sections);

    /// <summary>Clears the state, as if the input had been zero forever.</summary>
    public void Reset() => Array.Clear(_state);

    /// <summary>
    /// Sets the state to the steady state for a constant input <paramref name="value"/>, as if that
    /// value had been the input forever. The next output for that input is then <paramref name="value"/>
    /// times <see cref="DcGain"/> with no start-up transient (0 for a high-pass). This is scipy's
    /// <c>sosfilt_zi</c> scaled by the value.
    /// </summary>
    /// <param name="value">The constant input, in the signal's units.</param>
    public void Reset(float value) => SteadyState(_sections, value, _state);

    /// <summary>Filters one sample.</summary>
    /// <param name="x">Input sample.</param>
    /// <returns>Output sample.</returns>
    public float Process(float x) => (float)Step(_sections, _state, x);

    /// <summary>
    /// Filters a block of samples, continuing from the current state. <paramref name="output"/> may be
    /// the same memory as <paramref name="input"/> (in-place); the result is identical to calling
    /// <see cref="Process(float)"/> on each sample.
    /// </summary>
    /// <param name="input">Input samples.</param>
    /// <param name="output">Receives one output per input; at least as long as <paramref name="input"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <paramref name="input"/>.</exception>
    public void Process(ReadOnlySpan<float> input, Span<float> output)
    {
        if (output.Length < input.Length)
        {
            throw new ArgumentException($"Output length {output.Length} is shorter than input length {input.Length}.", nameof(output));
        }

        var sections = _sections;
        var state = _state;
        for (int i = 0; i < input.Length; i++)
        {
            // Reading input[i] before writing output[i] is what makes in-place use safe.
            output[i] = (float)Step(sections, state, input[i]);
        }
    }

    /// <summary>Complex frequency response at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz the filter was designed for.</param>
    /// <returns>The complex gain (dimensionless).</returns>
    public Complex Response(double frequencyHz, double sampleRateHz)
    {
        Complex h = Complex.One;
        foreach (var s in _sections)
        {
            h *= s.Response(frequencyHz, sampleRateHz);
        }

        return h;
    }

    /// <summary>Magnitude of the response |H| at <paramref name="frequencyHz"/> (linear, dimensionless).</summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Linear gain.</returns>
    public double Magnitude(double frequencyHz, double sampleRateHz) => Response(frequencyHz, sampleRateHz).Magnitude;

    /// <summary>Magnitude of the response in dB, 20·log10|H|, at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Gain in dB (negative infinity at an exact zero).</returns>
    public double MagnitudeDb(double frequencyHz, double sampleRateHz) => 20.0 * Math.Log10(Magnitude(frequencyHz, sampleRateHz));

    /// <summary>
    /// Group delay in samples at <paramref name="frequencyHz"/> (sum over sections). Divide by the sample
    /// rate for seconds. Non-finite at the centre of a notch, where the phase jumps by π.
    /// </summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Delay in samples.</returns>
    public double GroupDelaySamples(double frequencyHz, double sampleRateHz)
    {
        double d = 0.0;
        foreach (var s in _sections)
        {
            d += s.GroupDelaySamples(frequencyHz, sampleRateHz);
        }

        return d;
    }

    /// <summary>One sample through all sections, transposed direct form II.</summary>
    internal static double Step(Biquad[] sections, Span<double> state, double x)
    {
        double v = x;
        for (int s = 0; s < sections.Length; s++)
        {
            ref readonly Biquad q = ref sections[s];
            ref double z1 = ref state[2 * s];
            ref double z2 = ref state[(2 * s) + 1];
            double y = (q.B0 * v) + z1;
            z1 = (q.B1 * v) - (q.A1 * y) + z2;
            z2 = (q.B2 * v) - (q.A2 * y);
            v = y;
        }

        return v;
    }

    /// <summary>Writes into <paramref name="state"/> the steady state of the cascade for constant input <paramref name="value"/>.</summary>
    internal static void SteadyState(ReadOnlySpan<Biquad> sections, double value, Span<double> state)
    {
        // Each section sees the constant output of the ones before it. In TDF-II with constant input u and
        // output y = u·H(1): z2 = B2·u − A2·y and z1 = B1·u − A1·y + z2.
        double u = value;
        for (int s = 0; s < sections.Length; s++)
        {
            var q = sections[s];
            double y = u * q.DcGain;
            double z2 = (q.B2 * u) - (q.A2 * y);
            state[2 * s] = (q.B1 * u) - (q.A1 * y) + z2;
            state[(2 * s) + 1] = z2;
            u = y;
        }
    }
}
