using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Evaluation;

/// <summary>Per-beat AF scoring counts, with sensitivity, specificity and positive predictivity.</summary>
/// <param name="TruePositives">Reference AF beats flagged AF.</param>
/// <param name="FalseNegatives">Reference AF beats not flagged AF.</param>
/// <param name="FalsePositives">Reference non-AF beats flagged AF.</param>
/// <param name="TrueNegatives">Reference non-AF beats not flagged AF.</param>
public readonly record struct AfCounts(long TruePositives, long FalseNegatives, long FalsePositives, long TrueNegatives)
{
    /// <summary>Reference beats in AF.</summary>
    public long AfBeats => TruePositives + FalseNegatives;

    /// <summary>Reference beats not in AF.</summary>
    public long NonAfBeats => FalsePositives + TrueNegatives;

    /// <summary>Sensitivity TP/(TP+FN) in percent (0–100); NaN when there is no AF beat.</summary>
    public double SensitivityPercent => AfBeats == 0 ? double.NaN : 100.0 * TruePositives / AfBeats;

    /// <summary>Specificity TN/(TN+FP) in percent (0–100); NaN when every beat is AF.</summary>
    public double SpecificityPercent => NonAfBeats == 0 ? double.NaN : 100.0 * TrueNegatives / NonAfBeats;

    /// <summary>Positive predictivity TP/(TP+FP) in percent (0–100); NaN when no beat was flagged AF.</summary>
    public double PositivePredictivityPercent => TruePositives + FalsePositives == 0 ? double.NaN : 100.0 * TruePositives / (TruePositives + FalsePositives);

    /// <summary>Adds two sets of counts (gross statistics).</summary>
    public static AfCounts operator +(AfCounts a, AfCounts b) =>
        new(a.TruePositives + b.TruePositives, a.FalseNegatives + b.FalseNegatives, a.FalsePositives + b.FalsePositives, a.TrueNegatives + b.TrueNegatives);

    /// <summary>Adds two sets of counts (gross statistics).</summary>
    public static AfCounts Add(AfCounts a, AfCounts b) => a + b;
}

/// <summary>The per-beat AF result of one record.</summary>
/// <param name="Record">The record's name.</param>
/// <param name="ReferenceBeats">Reference beats scored (0 for a rhythm-only reference, where the detected beats are scored).</param>
/// <param name="MatchedBeats">Reference beats that a detected beat matched within the window.</param>
/// <param name="Counts">TP, FN, FP and TN over the reference beats (or the detected beats, for a rhythm-only reference).</param>
public sealed record RecordAfResult(string Record, long ReferenceBeats, long MatchedBeats, AfCounts Counts);

/// <summary>
/// Scores per-beat AF flags against the rhythm annotations of a reference annotation file.
/// </summary>
/// <remarks>
/// <para><b>Reference.</b> Every reference beat takes the rhythm of the latest rhythm-change annotation (<c>+</c>) before it.
/// A beat is AF when that rhythm is <c>(AFIB</c>; every other rhythm is not AF, atrial flutter <c>(AFL</c> included: flutter is a
/// different arrhythmia (organised macro-reentry, often regular conduction) that guidelines and the MIT-BIH labels keep apart
/// from fibrillation, and an RR detector that flags it has made an error for an AF alert. Beats before the first rhythm
/// annotation are not AF.</para>
/// <para><b>Matching.</b> Detected beats are matched to reference beats as <c>bxb</c> does (<see cref="BeatMatcher"/>, ±150 ms).
/// A matched reference beat takes its detection's flag. A reference beat the detector missed takes the detector's state at
/// that moment: the flag of the latest detected beat before it (not AF before the first). Detections that match no
/// reference beat are not scored: the statistics are over the reference beats, so every record weighs by its beats.</para>
/// <para><b>Rhythm-only references.</b> Some databases (the MIT-BIH AF Database) annotate rhythm but no beats in their
/// reference file. Then the detected beats themselves are scored, each against the reference rhythm at its time.</para>
/// </remarks>
public static class AfEvaluation
{
    /// <summary>The rhythm name (aux text without its parenthesis) that counts as AF.</summary>
    public const string AfRhythm = "AFIB";

    /// <summary>The reference beats of an annotation list and whether each lies in AF.</summary>
    /// <param name="reference">Reference annotations in time order (beats and rhythm changes).</param>
    /// <returns>Beat sample indices and their AF flags.</returns>
    public static (long[] Samples, bool[] IsAf) ReferenceRhythm(IReadOnlyList<Annotation> reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var samples = new List<long>(reference.Count);
        var flags = new List<bool>(reference.Count);
        var inAf = false;
        foreach (var a in reference)
        {
            if (a.RhythmName is { } rhythm)
            {
                inAf = string.Equals(rhythm, AfRhythm, StringComparison.Ordinal);
            }
            else if (a.IsBeat)
            {
                samples.Add(a.Sample);
                flags.Add(inAf);
            }
        }

        return ([.. samples], [.. flags]);
    }

    /// <summary>Scores per-beat AF flags of detected beats against the reference.</summary>
    /// <param name="record">Record name, for the report.</param>
    /// <param name="reference">Reference annotations (beats and rhythm changes), in time order.</param>
    /// <param name="detections">Detected beat sample indices, ascending.</param>
    /// <param name="detectedIsAf">The AF flag of each detected beat.</param>
    /// <param name="sampleRateHz">The sampling rate of the sample indices, in Hz.</param>
    /// <param name="windowMs">Match window half-width in ms (150 by EC57).</param>
    /// <returns>The record's counts.</returns>
    public static RecordAfResult Score(
        string record,
        IReadOnlyList<Annotation> reference,
        ReadOnlySpan<long> detections,
        ReadOnlySpan<bool> detectedIsAf,
        double sampleRateHz,
        double windowMs = BeatMatcher.DefaultWindowMs)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (detections.Length != detectedIsAf.Length)
        {
            throw new ArgumentException($"{detections.Length} detections need as many AF flags, got {detectedIsAf.Length}.", nameof(detectedIsAf));
        }

        var (refSamples, refAf) = ReferenceRhythm(reference);
        if (refSamples.Length == 0)
        {
            return ScoreOnDetections(record, reference, detections, detectedIsAf);
        }

        var window = (long)Math.Round(windowMs * sampleRateHz / 1000.0);
        var matches = BeatMatcher.Match(refSamples, detections, window);
        long tp = 0, fn = 0, fp = 0, tn = 0, matched = 0;
        foreach (var m in matches)
        {
            if (m.ReferenceIndex < 0)
            {
                continue;
            }

            bool flagged;
            if (m.TestIndex >= 0)
            {
                matched++;
                flagged = detectedIsAf[m.TestIndex];
            }
            else
            {
                flagged = StateAt(refSamples[m.ReferenceIndex], detections, detectedIsAf);
            }

            switch (refAf[m.ReferenceIndex], flagged)
            {
                case (true, true): tp++; break;
                case (true, false): fn++; break;
                case (false, true): fp++; break;
                default: tn++; break;
            }
        }

        return new RecordAfResult(record, refSamples.Length, matched, new AfCounts(tp, fn, fp, tn));
    }

    // Rhythm-only reference: each detected beat against the rhythm in force at its time.
    private static RecordAfResult ScoreOnDetections(string record, IReadOnlyList<Annotation> reference, ReadOnlySpan<long> detections, ReadOnlySpan<bool> flags)
    {
        var changes = reference.Where(a => a.RhythmName is not null).Select(a => (a.Sample, IsAf: a.RhythmName == AfRhythm)).ToList();
        long tp = 0, fn = 0, fp = 0, tn = 0;
        var next = 0;
        var inAf = false;
        for (var i = 0; i < detections.Length; i++)
        {
            while (next < changes.Count && changes[next].Sample <= detections[i])
            {
                inAf = changes[next++].IsAf;
            }

            switch (inAf, flags[i])
            {
                case (true, true): tp++; break;
                case (true, false): fn++; break;
                case (false, true): fp++; break;
                default: tn++; break;
            }
        }

        return new RecordAfResult(record, 0, 0, new AfCounts(tp, fn, fp, tn));
    }

    // The flag of the latest detected beat at or before the sample; false before the first.
    private static bool StateAt(long sample, ReadOnlySpan<long> detections, ReadOnlySpan<bool> flags)
    {
        var i = detections.BinarySearch(sample);
        if (i < 0)
        {
            i = ~i - 1;
        }

        return i >= 0 && flags[i];
    }
}
