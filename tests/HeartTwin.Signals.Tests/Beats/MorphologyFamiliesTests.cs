using System.Text.Json;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Beats;

/// <summary>Per-stream morphology families (issue 3, beat-cnn 2.4.0's decision).</summary>
[Trait("Regression", "issue-3")]
public class MorphologyFamiliesTests
{
    private static readonly BeatFamilyRule Rule = new(0, 0.9, 16, 8, 2.0 / 3);

    [Fact]
    public void A_family_outvotes_its_odd_calls_once_it_holds_enough_beats()
    {
        var families = new MorphologyFamilies(Rule, 128);
        var rng = new Random(1);
        var verdicts = new List<FamilyVerdict>();
        for (int i = 0; i < 60; i++)
        {
            bool wide = i % 3 == 0;
            bool calledV = wide;
            calledV ^= i is 4 or 40 or 6 or 45; // two normal beats called V, two wide ones called N
            verdicts.Add(families.Vote(Shape(wide, rng), calledV));
        }

        families.Count.ShouldBe(2);
        families.Beats.ShouldBe(60);
        verdicts[4].ShouldBe(FamilyVerdict.None); // the normal family's 4th beat: too few to vote
        verdicts[40].ShouldBe(FamilyVerdict.NotVentricular);
        MorphologyFamilies.Apply(true, verdicts[40]).ShouldBeFalse();
        verdicts[6].ShouldBe(FamilyVerdict.None); // the wide family's 3rd beat
        verdicts[45].ShouldBe(FamilyVerdict.Ventricular);
        MorphologyFamilies.Apply(false, verdicts[45]).ShouldBeTrue();
        MorphologyFamilies.Apply(false, FamilyVerdict.NotVentricular).ShouldBeFalse(); // a non-V call stands
        MorphologyFamilies.Apply(true, FamilyVerdict.None).ShouldBeTrue();
    }

    [Fact]
    public void A_new_shape_replaces_the_family_with_the_fewest_beats_once_all_are_kept()
    {
        var families = new MorphologyFamilies(Rule with { Templates = 2 }, 128);
        var rng = new Random(2);
        for (int i = 0; i < 10; i++)
        {
            families.Vote(Shape(false, rng), false); // 10 normal beats
        }

        families.Vote(Shape(true, rng), true); // 1 wide beat: a second family
        families.Count.ShouldBe(2);

        // A third shape takes the wide family's place (1 beat), not the normal one's (10), so the normal family keeps voting.
        var spike = new float[128];
        spike[20] = 1;
        families.Vote(spike, true);
        families.Count.ShouldBe(2);
        families.Vote(Shape(false, rng), true).ShouldBe(FamilyVerdict.NotVentricular);
    }

    [Fact]
    public void Reset_forgets_the_families_and_bad_input_is_refused()
    {
        var families = new MorphologyFamilies(Rule, 128);
        var rng = new Random(3);
        for (int i = 0; i < 9; i++)
        {
            families.Vote(Shape(false, rng), false);
        }

        families.Reset();
        families.Count.ShouldBe(0);
        families.Vote(Shape(false, rng), true).ShouldBe(FamilyVerdict.None);
        Should.Throw<ArgumentException>(() => families.Vote(new float[64], false));
        Should.Throw<ArgumentException>(() => new MorphologyFamilies(Rule with { Majority = 0.4 }, 128));
        Should.Throw<ArgumentException>(() => new MorphologyFamilies(Rule with { Templates = 0 }, 128));
        Should.Throw<ArgumentException>(() => new MorphologyFamilies(Rule with { MinCorrelation = 1.5 }, 128));
    }

    [Fact]
    public void Voting_does_not_allocate()
    {
        var families = new MorphologyFamilies(Rule, 128);
        var rng = new Random(4);
        var a = Shape(false, rng);
        var b = Shape(true, rng);
        families.Vote(a, false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            families.Vote(i % 2 == 0 ? a : b, i % 2 == 1);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Fact]
    public void It_makes_the_training_recipe_s_calls_on_a_real_record()
    {
        // The fixture holds the recipe's morphology_families over 1,500 exported beats of 208 (Fixtures/make_families_fixture.py):
        // the same windows, cut here by the C# pipeline, must get the same calls.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.RepoRoot, "tests", "HeartTwin.Signals.Tests", "Beats", "Fixtures", "families-208.json")));
        var root = doc.RootElement;
        var samples = root.GetProperty("samples").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var calls = root.GetProperty("calls").GetString()!;
        var expected = root.GetProperty("expected").GetString()!;
        var record = WfdbRecord.Read(TestData.MitDb, "208");
        var leads = Enumerable.Range(0, record.SignalCount).Select(record.Physical).ToList();
        var detections = QrsDetector.Detect(leads, record.SamplingFrequencyHz);
        var features = BeatFeatureExtractor.ExtractAll(leads[0], record.SamplingFrequencyHz, detections, BeatWindowSpec.Version2)
            .ToDictionary(f => f.SampleIndex);

        var families = new MorphologyFamilies(Rule, 128);
        int changed = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            bool calledV = calls[i] == 'V';
            bool ventricular = MorphologyFamilies.Apply(calledV, families.Vote(features[samples[i]].Window.AsSpan(0, 128), calledV));
            (ventricular ? 'V' : 'n').ShouldBe(expected[i], $"beat {i} at sample {samples[i]}");
            changed += ventricular != calledV ? 1 : 0;
        }

        changed.ShouldBe(136);
    }

    /// <summary>A narrow upright beat or a wide inverted one, with a little noise.</summary>
    private static float[] Shape(bool wide, Random rng)
    {
        var x = new float[128];
        for (int k = 0; k < 128; k++)
        {
            double t = k / 127.0;
            double v = wide ? -Math.Exp(-Math.Pow((t - 0.45) / 0.1, 2)) : Math.Exp(-Math.Pow((t - 0.42) / 0.03, 2));
            x[k] = (float)(v + (0.01 * ((rng.NextDouble() * 2) - 1)));
        }

        return x;
    }
}
