namespace HeartTwin.Signals.Tests.Rhythm;

/// <summary>Synthetic RR-interval series (seconds) with known rhythm, and their beat times.</summary>
internal static class SyntheticRr
{
    /// <summary>Sinus rhythm: mean RR with respiratory sinus arrhythmia (a 5-beat sine) and a little jitter.</summary>
    public static List<double> Sinus(int count, Random random, double meanSeconds = 0.8, double rsaSeconds = 0.03, double jitterSeconds = 0.008)
    {
        var rr = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            rr.Add(meanSeconds + (rsaSeconds * Math.Sin(2 * Math.PI * i / 5.0)) + Uniform(random, jitterSeconds));
        }

        return rr;
    }

    /// <summary>AF: independent intervals, uniform in [low, high] seconds.</summary>
    public static List<double> Fibrillation(int count, Random random, double low = 0.4, double high = 1.0)
    {
        var rr = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            rr.Add(low + ((high - low) * random.NextDouble()));
        }

        return rr;
    }

    /// <summary>
    /// Inserts isolated premature beats: every <paramref name="every"/> ± 3 beats the interval becomes premature
    /// (<paramref name="prematurity"/> × RR) and the next one the rest of <paramref name="pauseBeats"/> × RR
    /// (2 for a ventricular beat's full compensatory pause, about 1.7–1.9 for an atrial beat that resets the sinus node).
    /// </summary>
    public static List<double> WithPrematureBeats(List<double> rr, Random random, int every, double prematurity, double pauseBeats)
    {
        var result = new List<double>(rr);
        var next = every;
        while (next + 1 < result.Count)
        {
            var normal = result[next];
            result[next] = prematurity * normal;
            result[next + 1] = (pauseBeats - prematurity) * normal;
            next += every + random.Next(-3, 4);
        }

        return result;
    }

    /// <summary>Beat times from intervals, the first beat at <paramref name="start"/> seconds.</summary>
    public static double[] Times(IEnumerable<double> rr, double start = 1.0)
    {
        var times = new List<double> { start };
        foreach (var r in rr)
        {
            times.Add(times[^1] + r);
        }

        return [.. times];
    }

    private static double Uniform(Random random, double halfWidth) => halfWidth * ((2 * random.NextDouble()) - 1);
}
