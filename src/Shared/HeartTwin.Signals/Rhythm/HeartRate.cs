using System.Buffers;

namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Heart rate from beat times or RR intervals. RR intervals are in milliseconds, heart rates in beats per minute (bpm).
/// </summary>
/// <remarks>
/// Averages ignore artefacts: RR intervals outside [<see cref="MinPhysiologicalRrMs"/>, <see cref="MaxPhysiologicalRrMs"/>]
/// (that is, rates above 300 bpm or below 20 bpm), which come from missed or spurious beat detections rather than from a heart.
/// </remarks>
public static class HeartRate
{
    /// <summary>Shortest RR interval accepted as physiological, in ms (300 bpm).</summary>
    public const double MinPhysiologicalRrMs = 200;

    /// <summary>Longest RR interval accepted as physiological, in ms (20 bpm).</summary>
    public const double MaxPhysiologicalRrMs = 3000;

    // Beyond this many intervals the median's scratch buffer comes from the array pool instead of the stack.
    private const int StackLimit = 256;

    /// <summary>Whether an RR interval lies in the physiological range [200, 3000] ms (NaN and infinities do not).</summary>
    /// <param name="rrMs">RR interval in ms.</param>
    /// <returns><see langword="true"/> when the interval is plausible for a human heart.</returns>
    public static bool IsPhysiological(double rrMs) => rrMs is >= MinPhysiologicalRrMs and <= MaxPhysiologicalRrMs;

    /// <summary>Computes RR intervals in ms from beat sample indices without allocating.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="destination">Receives <c>beatSamples.Length − 1</c> intervals in ms; must be at least that long.</param>
    /// <returns>The number of intervals written (0 for fewer than two beats).</returns>
    public static int RrIntervalsMs(ReadOnlySpan<long> beatSamples, double sampleRateHz, Span<double> destination)
    {
        CheckRate(sampleRateHz);
        int count = Math.Max(0, beatSamples.Length - 1);
        if (destination.Length < count)
        {
            throw new ArgumentException($"Destination holds {destination.Length} intervals but {count} are needed.", nameof(destination));
        }

        double msPerSample = 1000.0 / sampleRateHz;
        for (int i = 0; i < count; i++)
        {
            destination[i] = (beatSamples[i + 1] - beatSamples[i]) * msPerSample;
        }

        return count;
    }

    /// <summary>Computes RR intervals in ms from beat sample indices without allocating.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="destination">Receives <c>beatSamples.Length − 1</c> intervals in ms; must be at least that long.</param>
    /// <returns>The number of intervals written (0 for fewer than two beats).</returns>
    public static int RrIntervalsMs(ReadOnlySpan<int> beatSamples, double sampleRateHz, Span<double> destination)
    {
        CheckRate(sampleRateHz);
        int count = Math.Max(0, beatSamples.Length - 1);
        if (destination.Length < count)
        {
            throw new ArgumentException($"Destination holds {destination.Length} intervals but {count} are needed.", nameof(destination));
        }

        double msPerSample = 1000.0 / sampleRateHz;
        for (int i = 0; i < count; i++)
        {
            destination[i] = ((long)beatSamples[i + 1] - beatSamples[i]) * msPerSample;
        }

        return count;
    }

    /// <summary>Computes RR intervals in ms from beat sample indices.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns><c>beatSamples.Length − 1</c> intervals in ms (empty for fewer than two beats).</returns>
    public static double[] RrIntervalsMs(ReadOnlySpan<int> beatSamples, double sampleRateHz)
    {
        var result = new double[Math.Max(0, beatSamples.Length - 1)];
        RrIntervalsMs(beatSamples, sampleRateHz, result);
        return result;
    }

    /// <summary>Computes RR intervals in ms from beat sample indices.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns><c>beatSamples.Length − 1</c> intervals in ms (empty for fewer than two beats).</returns>
    public static double[] RrIntervalsMs(ReadOnlySpan<long> beatSamples, double sampleRateHz)
    {
        var result = new double[Math.Max(0, beatSamples.Length - 1)];
        RrIntervalsMs(beatSamples, sampleRateHz, result);
        return result;
    }

    /// <summary>Instantaneous heart rate of one RR interval: 60000 / RR.</summary>
    /// <param name="rrMs">RR interval in ms.</param>
    /// <returns>Heart rate in bpm, or NaN when the interval is not positive and finite.</returns>
    public static double InstantaneousBpm(double rrMs) => rrMs > 0 && double.IsFinite(rrMs) ? 60000.0 / rrMs : double.NaN;

    /// <summary>Instantaneous heart rate of each RR interval (60000 / RR), without allocating. Artefacts are converted too.</summary>
    /// <param name="rrMs">RR intervals in ms.</param>
    /// <param name="bpm">Receives one rate in bpm per interval; must be at least as long as <paramref name="rrMs"/>.</param>
    public static void Instantaneous(ReadOnlySpan<double> rrMs, Span<double> bpm)
    {
        if (bpm.Length < rrMs.Length)
        {
            throw new ArgumentException($"Destination holds {bpm.Length} rates but {rrMs.Length} are needed.", nameof(bpm));
        }

        for (int i = 0; i < rrMs.Length; i++)
        {
            bpm[i] = InstantaneousBpm(rrMs[i]);
        }
    }

    /// <summary>Instantaneous heart rate of each RR interval (60000 / RR).</summary>
    /// <param name="rrMs">RR intervals in ms.</param>
    /// <returns>One rate in bpm per interval.</returns>
    public static double[] Instantaneous(ReadOnlySpan<double> rrMs)
    {
        var result = new double[rrMs.Length];
        Instantaneous(rrMs, result);
        return result;
    }

    /// <summary>
    /// Average heart rate as 60000 / mean RR over the physiological intervals. This weights every beat by its
    /// duration, so it equals beats per minute of elapsed time, unlike the mean of instantaneous rates.
    /// </summary>
    /// <param name="rrMs">RR intervals in ms; artefacts are ignored.</param>
    /// <returns>Heart rate in bpm, or NaN when no interval is physiological.</returns>
    public static double MeanBpm(ReadOnlySpan<double> rrMs)
    {
        double sum = 0;
        int n = 0;
        foreach (double rr in rrMs)
        {
            if (IsPhysiological(rr))
            {
                sum += rr;
                n++;
            }
        }

        return n == 0 ? double.NaN : 60000.0 * n / sum;
    }

    /// <summary>
    /// Robust average heart rate as 60000 / median RR over the physiological intervals; a few missed or extra
    /// beats barely move it. Allocation-free up to 256 intervals, pooled beyond.
    /// </summary>
    /// <param name="rrMs">RR intervals in ms; artefacts are ignored.</param>
    /// <returns>Heart rate in bpm, or NaN when no interval is physiological.</returns>
    public static double MedianBpm(ReadOnlySpan<double> rrMs)
    {
        double[]? rented = null;
        Span<double> scratch = rrMs.Length <= StackLimit
            ? stackalloc double[StackLimit]
            : (rented = ArrayPool<double>.Shared.Rent(rrMs.Length));
        try
        {
            int n = 0;
            foreach (double rr in rrMs)
            {
                if (IsPhysiological(rr))
                {
                    scratch[n++] = rr;
                }
            }

            if (n == 0)
            {
                return double.NaN;
            }

            Span<double> values = scratch[..n];
            values.Sort();
            double median = (n & 1) == 1 ? values[n / 2] : 0.5 * (values[(n / 2) - 1] + values[n / 2]);
            return 60000.0 / median;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Average heart rate (60000 / mean RR) of a run of beats; see <see cref="MeanBpm(ReadOnlySpan{double})"/>.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order (slice with <see cref="BeatsInWindow"/>).</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Heart rate in bpm, or NaN when no interval is physiological.</returns>
    public static double MeanBpmFromBeats(ReadOnlySpan<int> beatSamples, double sampleRateHz)
    {
        CheckRate(sampleRateHz);
        double msPerSample = 1000.0 / sampleRateHz;
        double sum = 0;
        int n = 0;
        for (int i = 1; i < beatSamples.Length; i++)
        {
            double rr = ((long)beatSamples[i] - beatSamples[i - 1]) * msPerSample;
            if (IsPhysiological(rr))
            {
                sum += rr;
                n++;
            }
        }

        return n == 0 ? double.NaN : 60000.0 * n / sum;
    }

    /// <summary>Robust heart rate (60000 / median RR) of a run of beats; see <see cref="MedianBpm(ReadOnlySpan{double})"/>.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order (slice with <see cref="BeatsInWindow"/>).</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <returns>Heart rate in bpm, or NaN when no interval is physiological.</returns>
    public static double MedianBpmFromBeats(ReadOnlySpan<int> beatSamples, double sampleRateHz)
    {
        int count = Math.Max(0, beatSamples.Length - 1);
        double[]? rented = null;
        Span<double> rr = count <= StackLimit
            ? stackalloc double[StackLimit]
            : (rented = ArrayPool<double>.Shared.Rent(count));
        try
        {
            int n = RrIntervalsMs(beatSamples, sampleRateHz, rr);
            return MedianBpm(rr[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The beats whose sample index lies in [<paramref name="startSample"/>, <paramref name="endSample"/>), found by binary search.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, ascending.</param>
    /// <param name="startSample">First sample of the window (inclusive).</param>
    /// <param name="endSample">End of the window (exclusive).</param>
    /// <returns>A slice of <paramref name="beatSamples"/>; empty when no beat falls in the window.</returns>
    public static ReadOnlySpan<int> BeatsInWindow(ReadOnlySpan<int> beatSamples, long startSample, long endSample)
    {
        int first = LowerBound(beatSamples, startSample);
        int last = LowerBound(beatSamples, endSample);
        return last > first ? beatSamples[first..last] : [];
    }

    private static int LowerBound(ReadOnlySpan<int> sorted, long value)
    {
        int lo = 0;
        int hi = sorted.Length;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) / 2);
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    internal static void CheckRate(double sampleRateHz)
    {
        if (!(sampleRateHz > 0) || !double.IsFinite(sampleRateHz))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "Sample rate must be a positive, finite number of Hz.");
        }
    }
}
