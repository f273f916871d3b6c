namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Sample entropy of short RR-interval series with template length m = 1, and the coefficient of sample entropy
/// (COSEn) of Lake and Moorman, "Accurate estimation of entropy in very short physiological time series: the problem of
/// atrial fibrillation detection in implanted ventricular devices", Am J Physiol Heart Circ Physiol 300:H319–H325 (2011).
/// </summary>
/// <remarks>
/// <para>SampEn = −ln(A/B), where B counts pairs of distinct points (among the first n − 1) within r of each other and
/// A counts those pairs whose successors are also within r (Richman and Moorman 2000). COSEn converts the probability to a
/// density by dividing by the matching volume 2r and normalises by the mean interval:
/// COSEn = SampEn + ln(2r) − ln(mean RR), with r and RR in seconds.</para>
/// <para>A regular rhythm, a bigeminy or a trigeminy repeats its patterns, so its COSEn is low; AF does not, so its COSEn
/// is high. When no pair matches (B = 0) or no matching pair continues to match (A = 0) the entropy is unbounded and the
/// result is +∞: no repeated pattern was found at this tolerance.</para>
/// </remarks>
public static class SampleEntropy
{
    /// <summary>Sample entropy with template length 1.</summary>
    /// <param name="series">The series, at least 3 points.</param>
    /// <param name="tolerance">Matching tolerance r, in the series' unit.</param>
    /// <returns>SampEn, or +∞ when no template matches; NaN for fewer than 3 points.</returns>
    public static double Compute(ReadOnlySpan<double> series, double tolerance)
    {
        var (a, b) = MatchCounts(series, tolerance);
        if (series.Length < 3)
        {
            return double.NaN;
        }

        return a == 0 || b == 0 ? double.PositiveInfinity : -Math.Log((double)a / b);
    }

    /// <summary>Coefficient of sample entropy of RR intervals.</summary>
    /// <param name="rrSeconds">RR intervals in seconds, at least 3.</param>
    /// <param name="toleranceSeconds">Matching tolerance r in seconds (30 ms in Lake and Moorman 2011).</param>
    /// <returns>COSEn, +∞ when no template matches, NaN for fewer than 3 intervals.</returns>
    public static double Cosen(ReadOnlySpan<double> rrSeconds, double toleranceSeconds)
    {
        var sampEn = Compute(rrSeconds, toleranceSeconds);
        if (double.IsNaN(sampEn) || double.IsPositiveInfinity(sampEn))
        {
            return sampEn;
        }

        double sum = 0;
        foreach (var r in rrSeconds)
        {
            sum += r;
        }

        return sampEn + Math.Log(2 * toleranceSeconds) - Math.Log(sum / rrSeconds.Length);
    }

    /// <summary>The match counts A (length 2) and B (length 1) of sample entropy with m = 1.</summary>
    /// <param name="series">The series.</param>
    /// <param name="tolerance">Matching tolerance.</param>
    /// <returns>A and B.</returns>
    public static (long A, long B) MatchCounts(ReadOnlySpan<double> series, double tolerance)
    {
        long a = 0, b = 0;
        var n = series.Length - 1;
        for (var i = 0; i < n; i++)
        {
            var xi = series[i];
            var yi = series[i + 1];
            for (var j = i + 1; j < n; j++)
            {
                if (Math.Abs(xi - series[j]) <= tolerance)
                {
                    b++;
                    if (Math.Abs(yi - series[j + 1]) <= tolerance)
                    {
                        a++;
                    }
                }
            }
        }

        return (a, b);
    }
}
