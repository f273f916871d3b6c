using System.Numerics;

namespace HeartTwin.Signals.Resampling;

/// <summary>
/// Streaming sample-rate converter by a rational factor L/M (output rate / input rate, reduced), using a
/// polyphase FIR: conceptually upsample by L (insert zeros), low-pass, keep every M-th sample, but only the
/// outputs that are kept are computed, each as one dot product of K = ⌈N/L⌉ taps.
/// </summary>
/// <remarks>
/// <para>The low-pass is a Kaiser-windowed sinc with its -6 dB cutoff at <see cref="CutoffFraction"/> × min(fin, fout)/2,
/// its stopband starting exactly at min(fin, fout)/2 and <see cref="StopbandAttenuationDb"/> of attenuation there,
/// so nothing aliases into the output band and upsampling images are suppressed; the passband is flat
/// (ripple about 0.001 dB) up to 0.8 × min(fin, fout)/2. The gain is L, so amplitudes are preserved.</para>
/// <para>The filter is linear-phase with a length chosen so that its delay is a whole number of output samples,
/// <see cref="DelaySamples"/>: output sample n of the stream corresponds to time (n − DelaySamples)/fout
/// from the first input sample. <see cref="Resample(ReadOnlySpan{float}, double, double)"/> removes that delay.</para>
/// <para>State (input history and polyphase position) is carried across calls, so any chunking of the input gives
/// bit-identical output. Processing does not allocate. One instance per channel; not thread-safe.</para>
/// </remarks>
public sealed class RationalResampler
{
    /// <summary>Largest up or down factor accepted after reduction; the filter has about 50 × max(L, M) taps.</summary>
    public const int MaxFactor = 20_000;

    /// <summary>Stopband attenuation of the anti-aliasing/anti-imaging filter in dB.</summary>
    public const double StopbandAttenuationDb = 80.0;

    /// <summary>The filter's -6 dB cutoff as a fraction of the lower Nyquist frequency min(fin, fout)/2.</summary>
    public const double CutoffFraction = 0.9;

    private readonly float[] _bank;     // L phases × _taps coefficients, each phase reversed (oldest tap first).
    private readonly float[] _history;  // Last _taps inputs, stored twice so a contiguous window always exists.
    private readonly int _taps;
    private readonly int _up;
    private readonly int _down;
    private int _pos;    // Where the next input goes in _history (0.._taps-1).
    private int _phase;  // Polyphase branch of the next output: (n·M) mod L.
    private int _wait;   // Inputs still to arrive, after the current one, before the next output can be computed.

    /// <summary>Designs a resampler from <paramref name="inputRateHz"/> to <paramref name="outputRateHz"/>.</summary>
    /// <param name="inputRateHz">Input sample rate in Hz, finite and positive.</param>
    /// <param name="outputRateHz">Output sample rate in Hz, finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not a positive finite number, or the ratio does not reduce to factors up to <see cref="MaxFactor"/>.</exception>
    public RationalResampler(double inputRateHz, double outputRateHz)
    {
        (_up, _down) = ReduceRatio(inputRateHz, outputRateHz);
        InputRateHz = inputRateHz;
        OutputRateHz = outputRateHz;

        double upsampledRate = _up * inputRateHz;
        double lowerNyquist = Math.Min(inputRateHz, outputRateHz) / 2.0;
        CutoffHz = CutoffFraction * lowerNyquist;

        // Kaiser's formulas: β for the attenuation, and length from the transition width (cutoff to lower Nyquist, both sides).
        double transition = 2.0 * Math.PI * 2.0 * (lowerNyquist - CutoffHz) / upsampledRate;
        double beta = 0.1102 * (StopbandAttenuationDb - 8.7);
        int minLength = (int)Math.Ceiling((StopbandAttenuationDb - 7.95) / (2.285 * transition)) + 1;

        // Length N = 2·q·M + 1 puts the centre tap at q·M up-samples, i.e. exactly q output samples of delay.
        int q = (int)Math.Ceiling((minLength - 1) / (2.0 * _down));
        DelaySamples = q;
        FilterLength = (2 * q * _down) + 1;

        double[] h = DesignLowPass(FilterLength, CutoffHz / upsampledRate, beta);
        double sum = 0.0;
        foreach (double v in h)
        {
            sum += v;
        }

        // Round the taps per phase up to a whole number of vectors; the extra taps are zeros on the oldest side.
        int tapsNeeded = (FilterLength + _up - 1) / _up;
        int lanes = Vector<float>.Count;
        _taps = (tapsNeeded + lanes - 1) / lanes * lanes;
        _bank = new float[_up * _taps];
        for (int p = 0; p < _up; p++)
        {
            for (int m = 0; m < tapsNeeded; m++)
            {
                int k = p + (m * _up);
                if (k < FilterLength)
                {
                    // Gain L makes up for the L − 1 zeros inserted between input samples.
                    _bank[(p * _taps) + (_taps - 1 - m)] = (float)(h[k] * _up / sum);
                }
            }
        }

        _history = new float[2 * _taps];
    }

    /// <summary>Input sample rate in Hz.</summary>
    public double InputRateHz { get; }

    /// <summary>Output sample rate in Hz.</summary>
    public double OutputRateHz { get; }

    /// <summary>Upsampling factor L of the reduced ratio L/M = fout/fin.</summary>
    public int UpFactor => _up;

    /// <summary>Downsampling factor M of the reduced ratio L/M = fout/fin.</summary>
    public int DownFactor => _down;

    /// <summary>-6 dB cutoff of the anti-aliasing filter in Hz.</summary>
    public double CutoffHz { get; }

    /// <summary>Prototype FIR length in taps at the upsampled rate L·fin.</summary>
    public int FilterLength { get; }

    /// <summary>Multiply-adds per output sample (taps per polyphase branch, rounded up to the vector width).</summary>
    public int TapsPerPhase => _taps;

    /// <summary>
    /// Delay of the stream in output samples (an integer by construction): stream output n corresponds to
    /// input time (n − DelaySamples)/fout. Drop this many leading outputs to align the stream with its input.
    /// </summary>
    public int DelaySamples { get; }

    /// <summary>Delay of the stream in seconds, <see cref="DelaySamples"/> / fout.</summary>
    public double DelaySeconds => DelaySamples / OutputRateHz;

    /// <summary>
    /// Reduces fout/fin to L/M in lowest terms. Integral rates use their greatest common divisor
    /// (360/128 → 45/16); other rates use the continued-fraction expansion of the ratio to within 1e-12.
    /// </summary>
    /// <param name="inputRateHz">Input sample rate in Hz.</param>
    /// <param name="outputRateHz">Output sample rate in Hz.</param>
    /// <returns>(Up = L, Down = M).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not a positive finite number, or L or M would exceed <see cref="MaxFactor"/>.</exception>
    public static (int Up, int Down) ReduceRatio(double inputRateHz, double outputRateHz)
    {
        ValidateRate(inputRateHz, nameof(inputRateHz));
        ValidateRate(outputRateHz, nameof(outputRateHz));

        long up, down;
        if (inputRateHz == Math.Floor(inputRateHz) && outputRateHz == Math.Floor(outputRateHz)
            && inputRateHz <= int.MaxValue && outputRateHz <= int.MaxValue)
        {
            long a = (long)outputRateHz, b = (long)inputRateHz;
            long g = Gcd(a, b);
            up = a / g;
            down = b / g;
        }
        else
        {
            (up, down) = ContinuedFraction(outputRateHz / inputRateHz);
        }

        if (up > MaxFactor || down > MaxFactor)
        {
            throw new ArgumentOutOfRangeException(nameof(outputRateHz), outputRateHz,
                $"The ratio {outputRateHz}/{inputRateHz} Hz reduces to {up}/{down}; factors above {MaxFactor} would need an impractically long filter.");
        }

        return ((int)up, (int)down);
    }

    /// <summary>
    /// Upper bound on the outputs that the next <see cref="Process"/> call can write for
    /// <paramref name="inputLength"/> inputs: ⌊inputLength·L/M⌋ + 1.
    /// </summary>
    /// <param name="inputLength">Number of input samples.</param>
    /// <returns>Output buffer length that is always enough.</returns>
    public int MaxOutputLength(int inputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        return checked((int)((long)inputLength * _up / _down) + 1);
    }

    /// <summary>Clears the input history and polyphase position, as if newly created.</summary>
    public void Reset()
    {
        Array.Clear(_history);
        _pos = 0;
        _phase = 0;
        _wait = 0;
    }

    /// <summary>
    /// Consumes <paramref name="input"/> (at fin) and writes the outputs (at fout) that became computable.
    /// The first output of a fresh stream is computed at the first input; see <see cref="DelaySamples"/>.
    /// </summary>
    /// <param name="input">Input samples, any length (chunking does not change the result).</param>
    /// <param name="output">Output buffer, at least <see cref="MaxOutputLength"/>(input.Length) long; must not overlap the input.</param>
    /// <returns>Number of samples written to <paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="output"/> is too short.</exception>
    public int Process(ReadOnlySpan<float> input, Span<float> output)
    {
        int needed = MaxOutputLength(input.Length);
        if (output.Length < needed)
        {
            throw new ArgumentException($"Output length {output.Length} is below MaxOutputLength({input.Length}) = {needed}.", nameof(output));
        }

        var history = _history;
        var bank = _bank;
        int taps = _taps, up = _up;
        // Advancing the output time by M up-samples moves ⌊M/L⌋ inputs and M mod L phases, plus one input on wrap;
        // splitting it once here keeps an integer division out of the per-output loop.
        int stepInputs = _down / up, stepPhase = _down % up;
        int pos = _pos, phase = _phase, wait = _wait;
        int written = 0;
        for (int i = 0; i < input.Length; i++)
        {
            float x = input[i];
            history[pos] = x;
            history[pos + taps] = x;
            pos = pos + 1 == taps ? 0 : pos + 1;

            while (wait == 0)
            {
                output[written++] = Dot(ref bank[phase * taps], ref history[pos], taps);
                phase += stepPhase;
                wait = stepInputs;
                if (phase >= up)
                {
                    phase -= up;
                    wait++;
                }
            }

            wait--;
        }

        _pos = pos;
        _phase = phase;
        _wait = wait;
        return written;
    }

    /// <summary>Number of output samples at times k/fout that fall within a signal of <paramref name="inputLength"/> samples: ⌈inputLength·L/M⌉.</summary>
    /// <param name="inputLength">Number of input samples.</param>
    /// <param name="inputRateHz">Input sample rate in Hz.</param>
    /// <param name="outputRateHz">Output sample rate in Hz.</param>
    /// <returns>Output length in samples.</returns>
    public static int OutputLength(int inputLength, double inputRateHz, double outputRateHz)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        var (up, down) = ReduceRatio(inputRateHz, outputRateHz);
        return checked((int)((((long)inputLength * up) + down - 1) / down));
    }

    /// <summary>
    /// Resamples a whole signal offline with the delay removed: output sample k is the signal at time k/fout
    /// (time 0 being the first input sample), and the output has <see cref="OutputLength"/> samples. The tail is
    /// flushed with zeros, so the last ~<see cref="DelaySamples"/> outputs see the signal end as a step to zero.
    /// </summary>
    /// <param name="x">Input samples at <paramref name="inputRateHz"/>.</param>
    /// <param name="inputRateHz">Input sample rate in Hz.</param>
    /// <param name="outputRateHz">Output sample rate in Hz.</param>
    /// <returns>The resampled signal.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A rate is invalid.</exception>
    public static float[] Resample(ReadOnlySpan<float> x, double inputRateHz, double outputRateHz)
    {
        var r = new RationalResampler(inputRateHz, outputRateHz);
        int count = OutputLength(x.Length, inputRateHz, outputRateHz);
        if (count == 0)
        {
            return [];
        }

        // After T inputs the stream has produced ⌊(T·L − 1)/M⌋ + 1 outputs; feed zeros until it has DelaySamples + count.
        long wanted = (long)r.DelaySamples + count;
        long totalInputs = ((((wanted - 1) * r._down) + 1) + r._up - 1) / r._up;
        int zeros = (int)Math.Max(0, totalInputs - x.Length);

        var stream = new float[r.MaxOutputLength(x.Length) + r.MaxOutputLength(zeros)];
        int produced = r.Process(x, stream);
        produced += r.Process(new float[zeros], stream.AsSpan(produced));
        return stream.AsSpan(r.DelaySamples, count).ToArray();
    }

    /// <summary>Kaiser-windowed sinc low-pass of odd length <paramref name="length"/> with cutoff <paramref name="cutoff"/> in cycles per sample.</summary>
    private static double[] DesignLowPass(int length, double cutoff, double beta)
    {
        var h = new double[length];
        double centre = (length - 1) / 2.0;
        double i0Beta = BesselI0(beta);
        for (int n = 0; n < length; n++)
        {
            double t = n - centre;
            double sinc = t == 0.0 ? 2.0 * cutoff : Math.Sin(2.0 * Math.PI * cutoff * t) / (Math.PI * t);
            double r = t / centre;
            double window = BesselI0(beta * Math.Sqrt(Math.Max(0.0, 1.0 - (r * r)))) / i0Beta;
            h[n] = sinc * window;
        }

        return h;
    }

    /// <summary>Modified Bessel function of the first kind, order 0, by its power series (converges fast for the β used here).</summary>
    internal static double BesselI0(double x)
    {
        double sum = 1.0, term = 1.0, half = x / 2.0;
        for (int k = 1; k < 500; k++)
        {
            term *= half / k;
            double t2 = term * term;
            sum += t2;
            if (t2 < 1e-17 * sum)
            {
                break;
            }
        }

        return sum;
    }

    private static float Dot(ref float ra, ref float rb, int length)
    {
        // The callers guarantee both runs hold `length` floats (phase < L and pos < taps, with the history stored
        // twice), and length is a whole multiple of the vector width, so there is no scalar tail.
        // Two accumulators let consecutive multiply-adds overlap in the pipeline.
        int lanes = Vector<float>.Count;
        var acc0 = Vector<float>.Zero;
        var acc1 = Vector<float>.Zero;
        int i = 0;
        for (; i + (2 * lanes) <= length; i += 2 * lanes)
        {
            acc0 += Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i);
            acc1 += Vector.LoadUnsafe(ref ra, (nuint)(i + lanes)) * Vector.LoadUnsafe(ref rb, (nuint)(i + lanes));
        }

        for (; i < length; i += lanes)
        {
            acc0 += Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i);
        }

        return Vector.Sum(acc0 + acc1);
    }

    private static void ValidateRate(double rateHz, string paramName)
    {
        if (!(rateHz > 0.0) || !double.IsFinite(rateHz))
        {
            throw new ArgumentOutOfRangeException(paramName, rateHz, "A sample rate must be a finite number of Hz greater than 0.");
        }
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    private static (long Num, long Den) ContinuedFraction(double ratio)
    {
        // Convergents h/k of the continued fraction of the ratio; stop at the first within 1e-12 (relative).
        long h0 = 1, h1 = 0, k0 = 0, k1 = 1;
        double r = ratio;
        for (int i = 0; i < 64; i++)
        {
            double a = Math.Floor(r);
            if (a > long.MaxValue / 4)
            {
                break;
            }

            long ai = (long)a;
            (h0, h1) = ((ai * h0) + h1, h0);
            (k0, k1) = ((ai * k0) + k1, k0);
            if (h0 > MaxFactor * 4L || k0 > MaxFactor * 4L)
            {
                break;
            }

            if (Math.Abs(((double)h0 / k0) - ratio) <= 1e-12 * ratio)
            {
                return (h0, k0);
            }

            double frac = r - a;
            if (frac == 0.0)
            {
                break;
            }

            r = 1.0 / frac;
        }

        return (h0, k0);
    }
}
