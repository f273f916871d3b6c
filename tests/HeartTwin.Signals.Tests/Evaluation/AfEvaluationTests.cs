using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Evaluation;

public class AfEvaluationTests
{
    private const int Fs = 100; // 150 ms = 15 samples

    private static Annotation Beat(long sample) => new(sample, AnnotationCode.Normal);

    private static Annotation Rhythm(long sample, string aux) => new(sample, AnnotationCode.Rhythm, Aux: aux);

    // Beats at 100, 200, … 1200. Rhythm: N until 300, AFIB from 350 (beats 400..800), AFL from 850 (beats 900, 1000),
    // N again from 1050 (beats 1100, 1200). The AFIB aux text carries the NUL padding some files have.
    private static readonly List<Annotation> Reference =
    [
        Rhythm(0, "(N"), Beat(100), Beat(200), Beat(300), new Annotation(320, AnnotationCode.Noise),
        Rhythm(350, "(AFIB\0"), Beat(400), Beat(500), Beat(600), Beat(700), Beat(800),
        Rhythm(850, "(AFL"), Beat(900), Beat(1000),
        Rhythm(1050, "(N"), Beat(1100), Beat(1200),
    ];

    [Fact]
    public void Reference_rhythm_marks_only_AFIB_beats_as_AF()
    {
        var (samples, isAf) = AfEvaluation.ReferenceRhythm(Reference);
        samples.ShouldBe([100L, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200]);
        isAf.ShouldBe([false, false, false, true, true, true, true, true, false, false, false, false]);
    }

    [Fact]
    public void Hand_made_detections_give_hand_counted_TP_FN_FP_TN()
    {
        // Detections: 105 (N, flagged), 195 (N), 310 (N), 410 (AF), 500 (AF, not flagged), 600 missed, 690 (AF),
        // 830 (reference 800, 30 samples off: not matched; a spurious detection), 900 (AFL, flagged), 1000 (AFL),
        // 1100 (N), 1200 (N), 1250 (extra, flagged: not scored).
        long[] detections = [105, 195, 310, 410, 500, 690, 830, 900, 1000, 1100, 1195, 1250];
        bool[] flags = [true, false, false, true, false, true, true, true, false, false, false, true];
        var r = AfEvaluation.Score("hand", Reference, detections, flags, Fs);

        // AF beats: 400 TP, 500 FN, 600 missed → state of the latest detection before it (500, not AF) → FN,
        // 700 TP, 800 missed → state at 800 is detection 690 (AF) → TP. So TP 3, FN 2.
        // Non-AF beats: 100 FP, 200 TN, 300 TN, 900 FP (flutter is not AF), 1000 TN, 1100 TN, 1200 TN. So FP 2, TN 5.
        r.Counts.ShouldBe(new AfCounts(3, 2, 2, 5));
        r.ReferenceBeats.ShouldBe(12);
        r.MatchedBeats.ShouldBe(10);
        r.Counts.AfBeats.ShouldBe(5);
        r.Counts.SensitivityPercent.ShouldBe(60.0, 1e-12);
        r.Counts.SpecificityPercent.ShouldBe(100.0 * 5 / 7, 1e-12);
        r.Counts.PositivePredictivityPercent.ShouldBe(60.0, 1e-12);
    }

    [Fact]
    public void Undefined_ratios_are_NaN_and_counts_add_up()
    {
        var none = new AfCounts(0, 0, 0, 10);
        none.SensitivityPercent.ShouldBe(double.NaN);
        none.PositivePredictivityPercent.ShouldBe(double.NaN);
        none.SpecificityPercent.ShouldBe(100);
        (none + new AfCounts(1, 2, 3, 4)).ShouldBe(new AfCounts(1, 2, 3, 14));
        AfCounts.Add(none, none).TrueNegatives.ShouldBe(20);
    }

    [Fact]
    public void A_rhythm_only_reference_scores_the_detected_beats_against_the_rhythm_at_their_time()
    {
        // As in the MIT-BIH AF Database: rhythm changes only. N until 350, AFIB 350..850, AFL 850..1050, N after.
        var rhythmOnly = Reference.Where(a => a.RhythmName is not null).ToList();
        long[] detections = [100, 340, 360, 700, 849, 900, 1200];
        bool[] flags = [false, true, true, false, true, true, false];
        var r = AfEvaluation.Score("rhythm-only", rhythmOnly, detections, flags, Fs);

        // 100 N TN, 340 N FP, 360 AF TP, 700 AF FN, 849 AF TP, 900 AFL FP, 1200 N TN.
        r.Counts.ShouldBe(new AfCounts(2, 1, 2, 2));
        r.ReferenceBeats.ShouldBe(0);
    }

    [Fact]
    public void Flags_must_match_the_detections_one_to_one()
    {
        Should.Throw<ArgumentException>(() => AfEvaluation.Score("x", Reference, [100, 200], [true], Fs));
    }

    [Fact]
    public void The_reference_rhythm_scored_against_itself_is_perfect()
    {
        var reference = AnnotationFile.Read(TestData.MitDb, "201", "atr");
        var (samples, isAf) = AfEvaluation.ReferenceRhythm(reference);
        var c = AfEvaluation.Score("201", reference, samples, isAf, 360).Counts;
        c.ShouldBe(new AfCounts(911, 0, 0, 1052));
    }

    [Fact]
    public void Shared_records_reach_the_measured_gross_per_beat_Se_and_Sp()
    {
        // Measured with the QRS detector's beats over all 26 shared records: Se 96.40%, Sp 95.24%, PPV 56.5% (before the
        // detector's reliable-lead veto: 97.62 / 95.12; the change is all in 217, whose 3 false beats went).
        // The floors sit a little below, so a regression of either figure fails here.
        var gross = default(AfCounts);
        var results = new RecordAfResult[TestData.MitDbRecords.Count];
        Parallel.For(0, results.Length, i => results[i] = RunRecord(TestData.MitDbRecords[i]).Result);
        foreach (var r in results)
        {
            gross += r.Counts;
        }

        gross.AfBeats.ShouldBe(3607);
        gross.SensitivityPercent.ShouldBeGreaterThanOrEqualTo(96.0);
        gross.SpecificityPercent.ShouldBeGreaterThanOrEqualTo(94.8);

        // Records with no AF and clean sinus rhythm raise no false alarm at all.
        foreach (var name in new[] { "101", "112", "115", "116", "118", "122", "205", "220", "230" })
        {
            results.Single(r => r.Record == name).Counts.FalsePositives.ShouldBe(0, name);
        }
    }

    [Fact]
    public void The_AF_episodes_of_records_201_and_203_are_found()
    {
        // 201 has three AF episodes (from 0 s, 477 s and 1597 s); each must lie, beat for beat, inside detected episodes.
        var (r201, a201, beats201) = RunRecord("201");
        r201.Counts.SensitivityPercent.ShouldBeGreaterThanOrEqualTo(99.0);
        a201.Events.Count(e => e.Kind == AfEventKind.Onset).ShouldBe(3);
        a201.Events[0].TimeSeconds.ShouldBeLessThan(1);
        var detected = Episodes(a201, beats201[^1] / 360.0);
        var reference = AnnotationFile.Read(TestData.MitDb, "201", "atr");
        var (samples, isAf) = AfEvaluation.ReferenceRhythm(reference);
        var episodes = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            if (!isAf[i] || (i > 0 && isAf[i - 1]))
            {
                continue;
            }

            var j = i;
            while (j < samples.Length && isAf[j])
            {
                j++;
            }

            episodes++;
            var covered = Enumerable.Range(i, j - i).Count(k => detected.Any(d => samples[k] / 360.0 >= d.Start && samples[k] / 360.0 < d.End));
            ((double)covered / (j - i)).ShouldBeGreaterThanOrEqualTo(0.95, $"reference episode from {samples[i] / 360.0:F0} s");
        }

        episodes.ShouldBe(3);

        // 203 is AF throughout, interrupted by flutter and short ventricular runs: one episode from the start.
        var (r203, a203, _) = RunRecord("203");
        r203.Counts.SensitivityPercent.ShouldBeGreaterThanOrEqualTo(99.0);
        a203.Events.ShouldHaveSingleItem().Kind.ShouldBe(AfEventKind.Onset);
        a203.Events[0].TimeSeconds.ShouldBeLessThan(1);
    }

    // Detected episodes as [onset, offset) in seconds; an episode still open at the end runs to the end.
    private static List<(double Start, double End)> Episodes(AfAnalysis a, double endSeconds)
    {
        var list = new List<(double, double)>();
        double? open = null;
        foreach (var e in a.Events)
        {
            if (e.Kind == AfEventKind.Onset)
            {
                open = e.TimeSeconds;
            }
            else if (open is { } s)
            {
                list.Add((s, e.TimeSeconds));
                open = null;
            }
        }

        if (open is { } last)
        {
            list.Add((last, endSeconds + 1));
        }

        return list;
    }

    private static (RecordAfResult Result, AfAnalysis Analysis, long[] Beats) RunRecord(string name)
    {
        var record = WfdbRecord.Read(TestData.MitDb, name);
        var detections = HeartTwin.Signals.Detection.QrsDetector.Detect(EcgLeads.ReadMillivolts(record), record.SamplingFrequencyHz);
        var analysis = AfDetector.Analyze(detections, record.SamplingFrequencyHz);
        var flags = analysis.Beats.Select(b => b.IsAf).ToArray();
        var result = AfEvaluation.Score(name, AnnotationFile.Read(TestData.MitDb, name, "atr"), detections, flags, record.SamplingFrequencyHz);
        return (result, analysis, detections);
    }
}
