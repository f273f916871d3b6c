using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Evaluation;

/// <summary>A pair of matched beats, or a beat without a partner (−1 for the missing side).</summary>
/// <param name="ReferenceIndex">Index into the reference beats, or −1 for a false positive.</param>
/// <param name="TestIndex">Index into the test beats, or −1 for a false negative.</param>
public readonly record struct BeatMatch(int ReferenceIndex, int TestIndex);

/// <summary>
/// Beat-by-beat comparison as PhysioNet's <c>bxb</c> performs it for ANSI/AAMI EC57: a test beat matches a
/// reference beat when they lie within the match window (150 ms), each beat matches at most once, and among
/// candidates the nearer one wins. Beats inside ventricular flutter/fibrillation episodes (reference <c>[</c> … <c>]</c>)
/// are excluded from both sides, as EC57 requires.
/// </summary>
public static class BeatMatcher
{
    /// <summary>The EC57 match window, in milliseconds.</summary>
    public const double DefaultWindowMs = 150;

    /// <summary>Matches sorted beat times.</summary>
    /// <param name="reference">Reference beat sample indices, ascending.</param>
    /// <param name="test">Test beat sample indices, ascending.</param>
    /// <param name="windowSamples">Half-width of the match window in samples.</param>
    /// <returns>The matches, false negatives and false positives, in time order.</returns>
    public static List<BeatMatch> Match(ReadOnlySpan<long> reference, ReadOnlySpan<long> test, long windowSamples)
    {
        var result = new List<BeatMatch>(Math.Max(reference.Length, test.Length));
        int i = 0, j = 0;
        while (i < reference.Length && j < test.Length)
        {
            var r = reference[i];
            var t = test[j];
            if (t < r - windowSamples)
            {
                result.Add(new BeatMatch(-1, j++));
                continue;
            }

            if (t > r + windowSamples)
            {
                result.Add(new BeatMatch(i++, -1));
                continue;
            }

            var distance = Math.Abs(t - r);

            // A later test beat nearer to this reference beat takes the match; this one is then a false positive.
            if (j + 1 < test.Length && Math.Abs(test[j + 1] - r) < distance)
            {
                result.Add(new BeatMatch(-1, j++));
                continue;
            }

            // A later reference beat nearer to this test beat takes it; this reference beat is then missed.
            if (i + 1 < reference.Length && Math.Abs(reference[i + 1] - t) < distance)
            {
                result.Add(new BeatMatch(i++, -1));
                continue;
            }

            result.Add(new BeatMatch(i++, j++));
        }

        while (i < reference.Length)
        {
            result.Add(new BeatMatch(i++, -1));
        }

        while (j < test.Length)
        {
            result.Add(new BeatMatch(-1, j++));
        }

        return result;
    }

    /// <summary>The ventricular flutter/fibrillation intervals [start, end) marked in reference annotations.</summary>
    public static List<(long Start, long End)> VentricularFlutterIntervals(IEnumerable<Annotation> reference, long recordLength)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var intervals = new List<(long, long)>();
        long? open = null;
        foreach (var a in reference)
        {
            if (a.Code == AnnotationCode.VentricularFlutterOnset && open is null)
            {
                open = a.Sample;
            }
            else if (a.Code == AnnotationCode.VentricularFlutterOffset && open is { } start)
            {
                intervals.Add((start, a.Sample + 1));
                open = null;
            }
        }

        if (open is { } s)
        {
            intervals.Add((s, Math.Max(recordLength, s + 1)));
        }

        return intervals;
    }

    /// <summary>Whether <paramref name="sample"/> lies in one of the sorted intervals.</summary>
    public static bool IsExcluded(long sample, List<(long Start, long End)> intervals)
    {
        ArgumentNullException.ThrowIfNull(intervals);
        foreach (var (start, end) in intervals)
        {
            if (sample >= start && sample < end)
            {
                return true;
            }
        }

        return false;
    }
}
