namespace HeartTwin.Signals.Tests.Filters;

/// <summary>Test signals and a least-squares measurement of a tone's amplitude and phase.</summary>
internal static class Tone
{
    /// <summary>x[i] = amplitude·sin(2π·f·i/fs + phase).</summary>
    public static float[] Sine(double frequencyHz, double sampleRateHz, int length, double amplitude = 1.0, double phase = 0.0)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)(amplitude * Math.Sin((2.0 * Math.PI * frequencyHz * i / sampleRateHz) + phase));
        }

        return x;
    }

    /// <summary>
    /// Fits a·sin(ωi) + b·cos(ωi) + c to y[start..start+count) by least squares and returns the tone's amplitude
    /// sqrt(a² + b²) and phase atan2(b, a) (the φ in amplitude·sin(ωi + φ)). Exact for a pure tone plus DC
    /// whatever the window length, unlike a DFT bin, so measurements need no whole number of periods.
    /// </summary>
    public static (double Amplitude, double Phase) Fit(ReadOnlySpan<float> y, double frequencyHz, double sampleRateHz, int start, int count)
    {
        double w = 2.0 * Math.PI * frequencyHz / sampleRateHz;
        // Normal equations for the basis (sin, cos, 1).
        var m = new double[3, 4];
        for (int i = start; i < start + count; i++)
        {
            double s = Math.Sin(w * i), c = Math.Cos(w * i), v = y[i];
            double[] basis = [s, c, 1.0];
            for (int r = 0; r < 3; r++)
            {
                for (int k = 0; k < 3; k++)
                {
                    m[r, k] += basis[r] * basis[k];
                }

                m[r, 3] += basis[r] * v;
            }
        }

        var sol = Solve3(m);
        return (Math.Sqrt((sol[0] * sol[0]) + (sol[1] * sol[1])), Math.Atan2(sol[1], sol[0]));
    }

    /// <summary>Amplitude ratio in dB of the tone in <paramref name="y"/> (measured over the last half) relative to <paramref name="inputAmplitude"/>.</summary>
    public static double GainDb(ReadOnlySpan<float> y, double frequencyHz, double sampleRateHz, double inputAmplitude = 1.0)
    {
        int half = y.Length / 2;
        var (a, _) = Fit(y, frequencyHz, sampleRateHz, half, y.Length - half);
        return 20.0 * Math.Log10(a / inputAmplitude);
    }

    /// <summary>Wraps an angle into (−π, π].</summary>
    public static double Wrap(double radians) => Math.IEEERemainder(radians, 2.0 * Math.PI);

    private static double[] Solve3(double[,] m)
    {
        // Gaussian elimination with partial pivoting on the 3×4 augmented matrix.
        for (int col = 0; col < 3; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < 3; r++)
            {
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = r;
                }
            }

            for (int k = 0; k < 4; k++)
            {
                (m[col, k], m[pivot, k]) = (m[pivot, k], m[col, k]);
            }

            for (int r = 0; r < 3; r++)
            {
                if (r == col)
                {
                    continue;
                }

                double f = m[r, col] / m[col, col];
                for (int k = col; k < 4; k++)
                {
                    m[r, k] -= f * m[col, k];
                }
            }
        }

        return [m[0, 3] / m[0, 0], m[1, 3] / m[1, 1], m[2, 3] / m[2, 2]];
    }
}
