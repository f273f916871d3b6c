namespace HeartTwin.Signals.Tests.Beats;

/// <summary>Noise-free synthetic beat trains in mV, with beats placed exactly on sample instants.</summary>
internal static class BeatTrain
{
    /// <summary>A beat's shape: Q, R, S and T as Gaussians, relative to the beat's time.</summary>
    internal sealed record Shape(double RMv, double RSigmaS, double SMv = -0.25, double TMv = 0.3)
    {
        public static Shape Normal { get; } = new(1.2, 0.010);

        /// <summary>A wide, tall, inverted complex with a discordant T wave, like a PVC.</summary>
        public static Shape Ectopic { get; } = new(-1.6, 0.035, SMv: 0.2, TMv: -0.4);
    }

    /// <summary>Sums the beats (times in samples at <paramref name="fs"/>) into a signal of <paramref name="length"/> samples.</summary>
    public static float[] Render(double fs, int length, IReadOnlyList<long> beats, Func<int, Shape>? shapeOf = null, double offsetMv = 0.0)
    {
        var x = new float[length];
        for (int b = 0; b < beats.Count; b++)
        {
            var shape = shapeOf?.Invoke(b) ?? Shape.Normal;
            double tb = beats[b] / fs;
            int from = Math.Max(0, (int)((tb - 0.3) * fs));
            int to = Math.Min(length, (int)((tb + 0.6) * fs) + 1);
            for (int i = from; i < to; i++)
            {
                double t = i / fs;
                x[i] += (float)(Wave(t, tb - 0.025, -0.1, 0.008)
                    + Wave(t, tb, shape.RMv, shape.RSigmaS)
                    + Wave(t, tb + 0.03 + shape.RSigmaS, shape.SMv, 0.010)
                    + Wave(t, tb + 0.28, shape.TMv, 0.045));
            }
        }

        for (int i = 0; i < length; i++)
        {
            x[i] += (float)offsetMv;
        }

        return x;
    }

    /// <summary>Beat sample indices from RR intervals in samples, starting at <paramref name="first"/>.</summary>
    public static long[] FromIntervals(long first, params int[] intervals)
    {
        var beats = new long[intervals.Length + 1];
        beats[0] = first;
        for (int i = 0; i < intervals.Length; i++)
        {
            beats[i + 1] = beats[i] + intervals[i];
        }

        return beats;
    }

    /// <summary>Regular beats every <paramref name="interval"/> samples.</summary>
    public static long[] Regular(long first, int interval, int count) => FromIntervals(first, [.. Enumerable.Repeat(interval, count - 1)]);

    public static float[] Channel(float[] window, int channel, int samples = 128) => window.AsSpan(channel * samples, samples).ToArray();

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i] > x[best])
            {
                best = i;
            }
        }

        return best;
    }

    public static int ArgMaxAbs(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++)
        {
            if (Math.Abs(x[i]) > Math.Abs(x[best]))
            {
                best = i;
            }
        }

        return best;
    }

    public static double Correlation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double ma = 0, mb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ma += a[i];
            mb += b[i];
        }

        ma /= a.Length;
        mb /= b.Length;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }

        return sab / Math.Sqrt(saa * sbb);
    }

    public static double Energy(ReadOnlySpan<float> x)
    {
        double e = 0;
        foreach (var v in x)
        {
            e += v * v;
        }

        return e;
    }

    private static double Wave(double t, double centre, double amplitude, double sigma)
    {
        double z = (t - centre) / sigma;
        return amplitude * Math.Exp(-0.5 * z * z);
    }
}
