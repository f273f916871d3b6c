using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Evaluation;

/// <summary>Detection counts with gross sensitivity and positive predictivity.</summary>
/// <param name="TruePositives">Reference beats matched by a detection.</param>
/// <param name="FalsePositives">Detections that match no reference beat.</param>
/// <param name="FalseNegatives">Reference beats no detection matched.</param>
public readonly record struct DetectionCounts(long TruePositives, long FalsePositives, long FalseNegatives)
{
    /// <summary>Sensitivity TP/(TP+FN), in percent (0–100); 100 when there are no reference beats.</summary>
    public double SensitivityPercent => TruePositives + FalseNegatives == 0 ? 100 : 100.0 * TruePositives / (TruePositives + FalseNegatives);

    /// <summary>Positive predictivity TP/(TP+FP), in percent (0–100); 100 when there are no detections.</summary>
    public double PositivePredictivityPercent => TruePositives + FalsePositives == 0 ? 100 : 100.0 * TruePositives / (TruePositives + FalsePositives);

    /// <summary>Sensitivity in percent, or null when there are no reference beats (undefined; bxb prints "-").</summary>
    public double? DefinedSensitivityPercent => TruePositives + FalseNegatives == 0 ? null : SensitivityPercent;

    /// <summary>Positive predictivity in percent, or null when there are no detections (undefined; bxb prints "-").</summary>
    public double? DefinedPositivePredictivityPercent => TruePositives + FalsePositives == 0 ? null : PositivePredictivityPercent;

    /// <summary>Adds two sets of counts (gross statistics).</summary>
    public static DetectionCounts operator +(DetectionCounts a, DetectionCounts b) =>
        new(a.TruePositives + b.TruePositives, a.FalsePositives + b.FalsePositives, a.FalseNegatives + b.FalseNegatives);

    /// <summary>Adds two sets of counts (gross statistics).</summary>
    public static DetectionCounts Add(DetectionCounts a, DetectionCounts b) => a + b;
}

/// <summary>The QRS detection result for one record.</summary>
/// <param name="Record">The record's name.</param>
/// <param name="ReferenceBeats">Reference beats in the scored span.</param>
/// <param name="Counts">TP, FP and FN.</param>
/// <param name="Matches">The beat-by-beat matches, indexing <paramref name="ReferenceSamples"/> and <paramref name="TestSamples"/>.</param>
/// <param name="ReferenceSamples">The scored reference beat times, in samples.</param>
/// <param name="TestSamples">The scored detection times, in samples.</param>
public sealed record RecordQrsResult(
    string Record,
    long ReferenceBeats,
    DetectionCounts Counts,
    IReadOnlyList<BeatMatch> Matches,
    IReadOnlyList<long> ReferenceSamples,
    IReadOnlyList<long> TestSamples);

/// <summary>Scores QRS detections against reference annotations per ANSI/AAMI EC57, as <c>bxb</c> does.</summary>
public static class QrsEvaluation
{
    /// <summary>Scores <paramref name="detections"/> (sample indices, ascending) against <paramref name="reference"/> annotations.</summary>
    /// <param name="record">Record name, for the report.</param>
    /// <param name="reference">Reference annotations; only beats are scored, and VF episodes are excluded.</param>
    /// <param name="detections">Detected QRS sample indices, ascending.</param>
    /// <param name="sampleRateHz">The annotations' sampling rate.</param>
    /// <param name="recordLength">The record's length in samples.</param>
    /// <param name="windowMs">Match window half-width, 150 ms by EC57.</param>
    public static RecordQrsResult Score(
        string record,
        IReadOnlyList<Annotation> reference,
        ReadOnlySpan<long> detections,
        double sampleRateHz,
        long recordLength,
        double windowMs = BeatMatcher.DefaultWindowMs)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var excluded = BeatMatcher.VentricularFlutterIntervals(reference, recordLength);
        var refBeats = reference.Where(a => a.IsBeat && !BeatMatcher.IsExcluded(a.Sample, excluded)).Select(a => a.Sample).ToArray();
        var testBeats = new List<long>(detections.Length);
        foreach (var d in detections)
        {
            if (!BeatMatcher.IsExcluded(d, excluded))
            {
                testBeats.Add(d);
            }
        }

        var window = (long)Math.Round(windowMs * sampleRateHz / 1000.0);
        var testArray = testBeats.ToArray();
        var matches = BeatMatcher.Match(refBeats, testArray, window);
        long tp = 0, fp = 0, fn = 0;
        foreach (var m in matches)
        {
            if (m.ReferenceIndex >= 0 && m.TestIndex >= 0)
            {
                tp++;
            }
            else if (m.ReferenceIndex >= 0)
            {
                fn++;
            }
            else
            {
                fp++;
            }
        }

        return new RecordQrsResult(record, refBeats.Length, new DetectionCounts(tp, fp, fn), matches, refBeats, testArray);
    }
}
