namespace HeartTwin.Signals.Tests.Rhythm;

/// <summary>Deterministic ECG-like test signals in mV.</summary>
internal static class SyntheticEcg
{
    /// <summary>Beats every <paramref name="rrSeconds"/> starting at 0.5 s: P, Q, R, S and T as Gaussians on a gently wandering baseline.</summary>
    public static float[] Clean(double fs, double seconds = 10, double rrSeconds = 1.0, double noiseMillivolts = 0.01, int seed = 7)
    {
        int n = (int)Math.Round(seconds * fs);
        var x = new float[n];
        var random = new Random(seed);
        for (int i = 0; i < n; i++)
        {
            double t = i / fs;
            double v = 0.1 + (0.05 * Math.Sin(2 * Math.PI * 0.25 * t));
            for (double tb = 0.5; tb < seconds + 1; tb += rrSeconds)
            {
                v += Wave(t, tb - 0.18, 0.15, 0.025)    // P
                    + Wave(t, tb - 0.025, -0.10, 0.008) // Q
                    + Wave(t, tb, 1.20, 0.010)          // R
                    + Wave(t, tb + 0.03, -0.25, 0.010)  // S
                    + Wave(t, tb + 0.28, 0.30, 0.045);  // T
            }

            x[i] = (float)(v + (noiseMillivolts * Gaussian(random)));
        }

        return x;
    }

    public static int[] Beats(double fs, double seconds = 10, double rrSeconds = 1.0)
    {
        var beats = new List<int>();
        for (double tb = 0.5; tb < seconds; tb += rrSeconds)
        {
            beats.Add((int)Math.Round(tb * fs));
        }

        return [.. beats];
    }

    public static float[] WhiteNoise(double fs, double seconds, double sigmaMillivolts, int seed = 11)
    {
        var random = new Random(seed);
        var x = new float[(int)Math.Round(seconds * fs)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(sigmaMillivolts * Gaussian(random));
        }

        return x;
    }

    private static double Wave(double t, double centre, double amplitude, double sigma)
    {
        double z = (t - centre) / sigma;
        return amplitude * Math.Exp(-0.5 * z * z);
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
