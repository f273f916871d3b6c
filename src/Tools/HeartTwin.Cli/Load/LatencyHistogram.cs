namespace HeartTwin.Cli.Load;

/// <summary>
/// A lock-free latency histogram with about 1.6% resolution from 1 µs to days: exact below 128 µs, then 64 buckets per power
/// of two (the HdrHistogram layout, kept small). Many threads may record at once; percentiles read a consistent-enough view.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 128;
    private const int PerOctave = 64;
    private const int Octaves = 40;
    private readonly long[] _counts = new long[Linear + (Octaves * PerOctave)];
    private long _count;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public TimeSpan Max => TimeSpan.FromMicroseconds(Interlocked.Read(ref _maxMicros));

    public void Record(TimeSpan latency)
    {
        long micros = Math.Max(0, (long)latency.TotalMicroseconds);
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        long seen;
        while (micros > (seen = Interlocked.Read(ref _maxMicros)) && Interlocked.CompareExchange(ref _maxMicros, micros, seen) != seen)
        {
        }
    }

    /// <summary>The latency below which <paramref name="percentile"/> % of the recorded values lie (null when empty).</summary>
    public TimeSpan? Percentile(double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        long total = Count;
        if (total == 0)
        {
            return null;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(percentile / 100 * total));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                // The bucket's midpoint, but never above the largest value recorded.
                return TimeSpan.FromMicroseconds(Math.Min(Midpoint(i), Interlocked.Read(ref _maxMicros)));
            }
        }

        return Max;
    }

    internal static int Index(long micros)
    {
        if (micros < Linear)
        {
            return (int)micros;
        }

        int octave = 63 - (int)long.LeadingZeroCount(micros) - 6; // micros >> octave lies in [64, 128)
        int index = Linear + ((octave - 1) * PerOctave) + (int)((micros >> octave) - PerOctave);
        return Math.Min(index, Linear + (Octaves * PerOctave) - 1);
    }

    private static long Midpoint(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        int octave = ((index - Linear) / PerOctave) + 1;
        long low = (long)(((index - Linear) % PerOctave) + PerOctave) << octave;
        return low + ((1L << octave) / 2);
    }
}
