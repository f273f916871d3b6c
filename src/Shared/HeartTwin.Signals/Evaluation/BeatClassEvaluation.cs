using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Evaluation;

/// <summary>
/// One record's beat-classification score per ANSI/AAMI EC57: detected and classified beats matched to the reference
/// beats within the match window, as <c>bxb</c> matches them.
/// </summary>
/// <param name="Record">The record's name.</param>
/// <param name="Matched">Confusion matrix of the matched beats: reference class by predicted class.</param>
/// <param name="Missed">Reference beats that no detection matched, per reference class (indexed by <see cref="AamiClass"/>).</param>
/// <param name="Extra">Detections that matched no reference beat, per predicted class (indexed by <see cref="AamiClass"/>).</param>
public sealed record RecordBeatResult(string Record, ConfusionMatrix Matched, long[] Missed, long[] Extra)
{
    /// <summary>Reference beats scored (matched or missed).</summary>
    public long ReferenceBeats => Matched.Total + Missed.Sum();

    /// <summary>
    /// A class's TP, FP and FN. A missed reference beat of the class is one of its FN (the beat was not recognised as the
    /// class); a detection that matches no reference beat but was called the class is one of its FP.
    /// </summary>
    public DetectionCounts ClassStatistics(AamiClass c) => Statistics(Matched, Missed, Extra, c);

    /// <summary>The same statistic over several records' sums.</summary>
    public static DetectionCounts Statistics(ConfusionMatrix matched, long[] missed, long[] extra, AamiClass c)
    {
        ArgumentNullException.ThrowIfNull(matched);
        ArgumentNullException.ThrowIfNull(missed);
        ArgumentNullException.ThrowIfNull(extra);
        var s = matched.ClassStatistics(c);
        return new DetectionCounts(s.TruePositives, s.FalsePositives + extra[(int)c], s.FalseNegatives + missed[(int)c]);
    }
}

/// <summary>Scores classified beat detections against reference annotations (EC57 beat-by-beat classification).</summary>
public static class BeatClassEvaluation
{
    /// <summary>Number of AAMI classes.</summary>
    public const int ClassCount = 5;

    /// <summary>Scores one record.</summary>
    /// <param name="record">Record name, for the report.</param>
    /// <param name="reference">Reference annotations. Only beats with an AAMI class are scored; VF episodes are excluded as bxb does.</param>
    /// <param name="detections">Detected beat sample indices, ascending.</param>
    /// <param name="predicted">The class predicted for each detection, in the same order.</param>
    /// <param name="sampleRateHz">The annotations' sampling rate, in Hz.</param>
    /// <param name="recordLength">The record's length, in samples.</param>
    /// <param name="windowMs">Match window half-width, 150 ms by EC57.</param>
    public static RecordBeatResult Score(
        string record,
        IReadOnlyList<Annotation> reference,
        ReadOnlySpan<long> detections,
        ReadOnlySpan<AamiClass> predicted,
        double sampleRateHz,
        long recordLength,
        double windowMs = BeatMatcher.DefaultWindowMs)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (detections.Length != predicted.Length)
        {
            throw new ArgumentException($"Every detection needs a class: {detections.Length} detections, {predicted.Length} classes.", nameof(predicted));
        }

        var excluded = BeatMatcher.VentricularFlutterIntervals(reference, recordLength);
        var refBeats = new List<(long Sample, AamiClass Class)>();
        foreach (var a in reference)
        {
            if (AamiMapping.FromCode(a.Code) is { } c && !BeatMatcher.IsExcluded(a.Sample, excluded))
            {
                refBeats.Add((a.Sample, c));
            }
        }

        var testSamples = new List<long>(detections.Length);
        var testClasses = new List<AamiClass>(detections.Length);
        for (var i = 0; i < detections.Length; i++)
        {
            if (!BeatMatcher.IsExcluded(detections[i], excluded))
            {
                testSamples.Add(detections[i]);
                testClasses.Add(predicted[i]);
            }
        }

        var window = (long)Math.Round(windowMs * sampleRateHz / 1000.0);
        var matches = BeatMatcher.Match(refBeats.Select(b => b.Sample).ToArray(), testSamples.ToArray(), window);
        var matrix = new ConfusionMatrix();
        var missed = new long[ClassCount];
        var extra = new long[ClassCount];
        foreach (var m in matches)
        {
            if (m.ReferenceIndex >= 0 && m.TestIndex >= 0)
            {
                matrix.Add(refBeats[m.ReferenceIndex].Class, testClasses[m.TestIndex]);
            }
            else if (m.ReferenceIndex >= 0)
            {
                missed[(int)refBeats[m.ReferenceIndex].Class]++;
            }
            else
            {
                extra[(int)testClasses[m.TestIndex]]++;
            }
        }

        return new RecordBeatResult(record, matrix, missed, extra);
    }
}
