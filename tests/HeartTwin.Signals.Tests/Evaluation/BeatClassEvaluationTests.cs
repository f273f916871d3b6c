using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Evaluation;

public class BeatClassEvaluationTests
{
    private const int Apc = 8; // MIT code A: an S beat

    // Ten beats a second apart at 360 Hz: N N V N S N N V N N, plus a rhythm annotation that must not be scored.
    private static readonly Annotation[] Reference =
    [
        .. Enumerable.Range(0, 10).Select(i => new Annotation(360L * (i + 1), i switch
        {
            2 or 7 => AnnotationCode.Pvc,
            4 => Apc,
            _ => AnnotationCode.Normal,
        })),
        new Annotation(100, AnnotationCode.Rhythm, Aux: "(N"),
    ];

    private static readonly long[] Samples = Enumerable.Range(0, 10).Select(i => 360L * (i + 1)).ToArray();

    private static readonly AamiClass[] Truth =
        [AamiClass.N, AamiClass.N, AamiClass.V, AamiClass.N, AamiClass.S, AamiClass.N, AamiClass.N, AamiClass.V, AamiClass.N, AamiClass.N];

    [Fact]
    public void The_reference_classes_score_perfectly()
    {
        var r = BeatClassEvaluation.Score("t", Reference, Samples, Truth, 360, 5000);
        r.ReferenceBeats.ShouldBe(10);
        r.Matched.AccuracyPercent.ShouldBe(100);
        r.ClassStatistics(AamiClass.V).ShouldBe(new DetectionCounts(2, 0, 0));
        r.ClassStatistics(AamiClass.S).ShouldBe(new DetectionCounts(1, 0, 0));
        r.ClassStatistics(AamiClass.N).ShouldBe(new DetectionCounts(7, 0, 0));
    }

    [Fact]
    public void A_wrong_class_is_an_FN_of_the_truth_and_an_FP_of_the_prediction()
    {
        var predicted = (AamiClass[])Truth.Clone();
        predicted[4] = AamiClass.N; // the S beat called N
        predicted[0] = AamiClass.V; // an N beat called V
        var r = BeatClassEvaluation.Score("t", Reference, Samples, predicted, 360, 5000);
        r.ClassStatistics(AamiClass.S).ShouldBe(new DetectionCounts(0, 0, 1));
        r.ClassStatistics(AamiClass.V).ShouldBe(new DetectionCounts(2, 1, 0));
        r.ClassStatistics(AamiClass.N).ShouldBe(new DetectionCounts(6, 1, 1));
        r.Matched[AamiClass.S, AamiClass.N].ShouldBe(1);
        r.Matched.AccuracyPercent.ShouldBe(80);
    }

    [Fact]
    public void Missed_beats_are_FN_of_their_class_and_extra_detections_FP_of_theirs()
    {
        // Drop the second V beat, and add a detection between beats 1 and 2 that is called V.
        var samples = Samples.Where((_, i) => i != 7).Append(540L).Order().ToArray();
        var predicted = samples.Select(s => s == 540 ? AamiClass.V : Truth[(int)(s / 360) - 1]).ToArray();
        var r = BeatClassEvaluation.Score("t", Reference, samples, predicted, 360, 5000);
        r.Missed[(int)AamiClass.V].ShouldBe(1);
        r.Extra[(int)AamiClass.V].ShouldBe(1);
        r.ClassStatistics(AamiClass.V).ShouldBe(new DetectionCounts(1, 1, 1));
        r.ReferenceBeats.ShouldBe(10);
    }

    [Fact]
    public void Every_detection_needs_a_class()
    {
        Should.Throw<ArgumentException>(() => BeatClassEvaluation.Score("t", Reference, Samples, Truth.AsSpan(0, 3), 360, 5000));
    }
}
