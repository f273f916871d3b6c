using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Evaluation;

public class QrsEvaluationTests
{
    private static readonly IReadOnlyList<Annotation> Reference = AnnotationFile.Read(TestData.MitDb, "119", "atr");
    private static readonly long[] Beats = Reference.Where(a => a.IsBeat).Select(a => a.Sample).ToArray();

    [Fact]
    public void The_reference_scored_against_itself_is_perfect()
    {
        var r = QrsEvaluation.Score("119", Reference, Beats, 360, 650000);
        r.Counts.ShouldBe(new DetectionCounts(Beats.Length, 0, 0));
        r.Counts.SensitivityPercent.ShouldBe(100);
        r.Counts.PositivePredictivityPercent.ShouldBe(100);
    }

    [Fact]
    public void Beats_shifted_within_150_ms_still_match()
    {
        var shifted = Beats.Select(b => b + 54).ToArray(); // 150 ms at 360 Hz
        QrsEvaluation.Score("119", Reference, shifted, 360, 650000).Counts.ShouldBe(new DetectionCounts(Beats.Length, 0, 0));
    }

    [Fact]
    public void Beats_shifted_beyond_150_ms_are_both_missed_and_false()
    {
        var shifted = Beats.Select(b => b + 55).ToArray(); // 152.8 ms at 360 Hz
        var c = QrsEvaluation.Score("119", Reference, shifted, 360, 650000).Counts;
        c.TruePositives.ShouldBe(0);
        c.FalseNegatives.ShouldBe(Beats.Length);
        c.FalsePositives.ShouldBe(Beats.Length);
    }

    [Fact]
    public void Missing_and_extra_beats_count_as_FN_and_FP()
    {
        var missing = Beats.Where((_, i) => i % 10 != 0).ToList();
        var expectedMissing = Beats.Length - missing.Count;
        // Extra detections half-way between consecutive beats (RR > 300 ms everywhere in 119, so > 150 ms from both).
        var extra = Beats.Zip(Beats.Skip(1)).Take(100).Select(p => (p.First + p.Second) / 2).ToList();
        var test = missing.Concat(extra).Order().ToArray();
        var c = QrsEvaluation.Score("119", Reference, test, 360, 650000).Counts;
        c.FalseNegatives.ShouldBe(expectedMissing);
        c.FalsePositives.ShouldBe(100);
        c.TruePositives.ShouldBe(missing.Count);
        c.SensitivityPercent.ShouldBe(100.0 * missing.Count / Beats.Length, 1e-9);
    }

    [Fact]
    public void The_nearer_of_two_candidates_takes_the_match()
    {
        var m = BeatMatcher.Match([1000], [960, 990], 54);
        m.ShouldBe([new BeatMatch(-1, 0), new BeatMatch(0, 1)]);
        var n = BeatMatcher.Match([1000, 1040], [1030], 54);
        n.ShouldBe([new BeatMatch(0, -1), new BeatMatch(1, 0)]);
    }

    [Fact]
    public void Ventricular_flutter_episodes_are_excluded()
    {
        var r207 = AnnotationFile.Read(TestData.MitDb, "207", "atr");
        var intervals = BeatMatcher.VentricularFlutterIntervals(r207, 650000);
        intervals.ShouldNotBeEmpty();
        var inside = intervals[0].Start + 100;
        var beats = r207.Where(a => a.IsBeat).Select(a => a.Sample).Append(inside).Order().ToArray();
        var c = QrsEvaluation.Score("207", r207, beats, 360, 650000).Counts;
        c.FalsePositives.ShouldBe(0); // a detection inside flutter is neither TP nor FP
    }

    [Fact]
    public void Gross_statistics_add_counts_not_percentages()
    {
        var total = new DetectionCounts(90, 0, 10) + new DetectionCounts(900, 10, 0);
        total.ShouldBe(new DetectionCounts(990, 10, 10));
        total.SensitivityPercent.ShouldBe(99.0);
        total.PositivePredictivityPercent.ShouldBe(99.0);
    }

    [Theory]
    [InlineData("N", AamiClass.N)]
    [InlineData("L", AamiClass.N)]
    [InlineData("R", AamiClass.N)]
    [InlineData("e", AamiClass.N)]
    [InlineData("j", AamiClass.N)]
    [InlineData("A", AamiClass.S)]
    [InlineData("a", AamiClass.S)]
    [InlineData("J", AamiClass.S)]
    [InlineData("S", AamiClass.S)]
    [InlineData("V", AamiClass.V)]
    [InlineData("E", AamiClass.V)]
    [InlineData("F", AamiClass.F)]
    [InlineData("/", AamiClass.Q)]
    [InlineData("f", AamiClass.Q)]
    [InlineData("Q", AamiClass.Q)]
    public void Beat_codes_map_to_AAMI_classes(string mnemonic, AamiClass expected) =>
        AamiMapping.FromCode(AnnotationCode.FromMnemonic(mnemonic)).ShouldBe(expected);

    [Fact]
    public void Non_beats_have_no_AAMI_class()
    {
        foreach (var m in new[] { "+", "~", "|", "\"", "x", "!", "[", "]" })
        {
            AamiMapping.FromCode(AnnotationCode.FromMnemonic(m)).ShouldBeNull();
        }
    }

    [Fact]
    public void Confusion_matrix_counts_reference_rows_against_predicted_columns()
    {
        var m = new ConfusionMatrix();
        m.Add(AamiClass.N, AamiClass.N);
        m.Add(AamiClass.N, AamiClass.N);
        m.Add(AamiClass.S, AamiClass.N);
        m.Add(AamiClass.V, AamiClass.V);
        m.Add(AamiClass.N, AamiClass.V);
        m[AamiClass.N, AamiClass.N].ShouldBe(2);
        var v = m.ClassStatistics(AamiClass.V);
        v.TruePositives.ShouldBe(1);
        v.FalsePositives.ShouldBe(1);
        v.FalseNegatives.ShouldBe(0);
        var s = m.ClassStatistics(AamiClass.S);
        s.SensitivityPercent.ShouldBe(0);
        m.AccuracyPercent.ShouldBe(60);
    }
    [Fact]
    public void Fusion_and_unclassifiable_beats_called_V_are_not_V_false_positives_as_in_bxb()
    {
        // bxb: VFP = Nv + Sv + Ov + Xv and SFP = Ns + Vs + Fs + Os + Xs; Fv, Qv and Qs are no one's false positive.
        var m = new ConfusionMatrix();
        (AamiClass Reference, AamiClass Predicted)[] beats =
        [
            (AamiClass.V, AamiClass.V), (AamiClass.F, AamiClass.V), (AamiClass.Q, AamiClass.V), (AamiClass.N, AamiClass.V),
            (AamiClass.S, AamiClass.V), (AamiClass.Q, AamiClass.S), (AamiClass.F, AamiClass.S), (AamiClass.S, AamiClass.S),
            (AamiClass.F, AamiClass.N),
        ];
        foreach (var (reference, predicted) in beats)
        {
            m.Add(reference, predicted);
        }

        m.ClassStatistics(AamiClass.V).ShouldBe(new DetectionCounts(1, 2, 0));
        m.ClassStatistics(AamiClass.S).ShouldBe(new DetectionCounts(1, 1, 1));
        // They are still FN of their own class, and N, F and Q (no EC57 statistic) count every other class as FP.
        m.ClassStatistics(AamiClass.F).ShouldBe(new DetectionCounts(0, 0, 3));
        m.ClassStatistics(AamiClass.Q).ShouldBe(new DetectionCounts(0, 0, 2));
        m.ClassStatistics(AamiClass.N).ShouldBe(new DetectionCounts(0, 1, 1));
        ConfusionMatrix.IsExemptFalsePositive(AamiClass.F, AamiClass.V).ShouldBeTrue();
        ConfusionMatrix.IsExemptFalsePositive(AamiClass.F, AamiClass.S).ShouldBeFalse();
        ConfusionMatrix.IsExemptFalsePositive(AamiClass.V, AamiClass.F).ShouldBeFalse();
    }
    [Fact]
    public void A_rate_without_a_denominator_is_undefined_not_100()
    {
        var none = new DetectionCounts(0, 0, 0);
        none.DefinedSensitivityPercent.ShouldBeNull();
        none.DefinedPositivePredictivityPercent.ShouldBeNull();
        none.SensitivityPercent.ShouldBe(100); // the per-record convention of the QRS table stays
        var some = new DetectionCounts(3, 1, 0);
        some.DefinedSensitivityPercent.ShouldBe(100);
        some.DefinedPositivePredictivityPercent.ShouldBe(75);
        new DetectionCounts(0, 2, 0).DefinedSensitivityPercent.ShouldBeNull();
    }
}
