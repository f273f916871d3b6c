using System.Text.Json.Nodes;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Inference.Tests;

/// <summary>
/// The card's decision: the premature supraventricular rule that splits the beats the network calls N or S (and F, since
/// beat-cnn 2.2.0) by their timing against the patient's long RR baseline, and calls no beat in AF premature.
/// </summary>
[Trait("Regression", "issue-3")]
public sealed class DecisionTests
{
    private const int N = 0, S = 1, V = 2, F = 3, Q = 4;
    private const int PreLongRatio = 7; // in the v2 RR features

    [Fact]
    public void Without_a_decision_the_most_probable_label_is_the_class()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyV2Card);
        var labels = Decide(model, [(S, 0.5f), (N, 0.5f), (V, 0.5f)], inAf: [false, false, false]);
        labels.ShouldBe([S, N, V]);
        model.DecisionUsesRhythm.ShouldBeFalse();
    }

    [Fact]
    public void A_premature_beat_called_N_is_S_and_a_timely_beat_called_S_is_N()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8));
        model.DecisionUsesRhythm.ShouldBeTrue();

        var labels = Decide(model, [(N, 0.79f), (N, 0.8f), (S, 1.0f), (S, 0.5f), (N, float.NaN)], inAf: [false, false, false, false, false]);

        labels.ShouldBe([S, N, N, S, N]);
    }

    [Fact]
    public void Beats_in_AF_are_N_however_early_they_come()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8));

        var labels = Decide(model, [(N, 0.5f), (S, 0.5f), (S, 0.5f)], inAf: [true, true, false]);

        labels.ShouldBe([N, N, S]);
    }

    [Fact]
    public void Ventricular_fusion_and_unclassifiable_beats_keep_the_network_class()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8));

        var labels = Decide(model, [(V, 0.5f), (F, 0.5f), (Q, 0.5f), (V, 1.2f)], inAf: [false, false, false, false]);

        labels.ShouldBe([V, F, Q, V]);
    }

    [Fact]
    public void With_F_in_from_labels_an_F_call_is_decided_by_its_timing_like_N_and_S()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8, fromLabels: ["N", "S", "F"]));

        var labels = Decide(model, [(F, 0.5f), (F, 1.0f), (F, 0.5f), (V, 0.5f), (Q, 0.5f)], inAf: [false, false, true, false, false]);

        labels.ShouldBe([S, N, N, V, Q]); // early: S; on time or in AF: N; V and Q keep their class
    }

    [Fact]
    public void A_beat_less_early_but_followed_by_a_pause_is_S_with_the_pause_test()
    {
        using var dir = TestFiles.NewTempDir();
        using var plain = BeatClassifier.Load(WriteV2Card(dir, 0.8));
        using var other = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(other, 0.8, earlyWithPause: (0.9, 1.2)));
        const int PostPreRatio = 5;
        // (pre_long_ratio, post_pre_ratio): 15% early with a pause; 15% early without; 5% early with a pause; 25% early; no baseline.
        (float Early, float Pause)[] beats = [(0.85f, 1.3f), (0.85f, 1.1f), (0.95f, 1.5f), (0.75f, 1.0f), (float.NaN, 1.5f)];
        var p = new float[beats.Length * model.ClassCount];
        var rr = new float[beats.Length * model.RrFeatureCount];
        for (var i = 0; i < beats.Length; i++)
        {
            p[(i * model.ClassCount) + N] = 0.9f;
            rr[(i * model.RrFeatureCount) + PreLongRatio] = beats[i].Early;
            rr[(i * model.RrFeatureCount) + PostPreRatio] = beats[i].Pause;
        }

        var labels = new int[beats.Length];
        model.Decide(p, rr, new bool[beats.Length], beats.Length, labels);
        labels.ShouldBe([S, N, N, S, N]);
        plain.Decide(p, rr, new bool[beats.Length], beats.Length, labels);
        labels.ShouldBe([N, N, N, S, N]); // without the pause test only the 25% early beat
        model.Decide(p, rr, Enumerable.Repeat(true, beats.Length).ToArray(), beats.Length, labels);
        labels.ShouldAllBe(l => l == N); // in AF nothing is premature
    }

    [Fact]
    public void A_premature_beat_with_enough_V_probability_is_V()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8, vMinProbability: 0.1));
        var p = new float[] { 0.6f, 0.25f, 0.1f, 0.03f, 0.02f, 0.6f, 0.3f, 0.09f, 0.005f, 0.005f };
        var rr = new float[2 * model.RrFeatureCount];
        rr[PreLongRatio] = 0.7f;
        rr[model.RrFeatureCount + PreLongRatio] = 0.7f;
        var labels = new int[2];

        model.Decide(p, rr, [false, false], 2, labels);
        labels.ShouldBe([V, S]);

        model.Decide(p, rr, [true, true], 2, labels);
        labels.ShouldBe([N, N]); // in AF no beat is premature, so the veto does not arise

        rr[PreLongRatio] = 1.0f;
        model.Decide(p, rr, [false, false], 2, labels);
        labels.ShouldBe([N, S]); // on time: N whatever its V probability
    }

    [Fact]
    public void Without_the_rhythm_the_rule_that_needs_it_is_not_applied()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(WriteV2Card(dir, 0.8));

        Decide(model, [(N, 0.5f), (S, 1.0f)], inAf: null).ShouldBe([N, S]);
    }

    [Theory]
    [InlineData("max_ratio", "0", "max_ratio 0 must be above 0 and at most 1")]
    [InlineData("max_ratio", "1.5", "max_ratio 1.5 must be above 0 and at most 1")]
    [InlineData("rr_feature", "\"pre_rr_ms\"", "rr_feature 'pre_rr_ms' is not one of input.rr_features")]
    [InlineData("v_min_probability", "0", "v_min_probability 0 must be above 0 and at most 1")]
    [InlineData("v_min_probability", "2", "v_min_probability 2 must be above 0 and at most 1")]
    public void A_decision_out_of_range_is_refused_with_the_reason(string member, string value, string expected)
    {
        var card = V2CardWithDecision(0.8);
        card["decision"]!["premature_supraventricular"]![member] = JsonNode.Parse(value);

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(card)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(expected);
    }

    [Theory]
    [InlineData("max_ratio", "0", "early_with_pause.max_ratio 0 must be above 0 and at most 1")]
    [InlineData("min_ratio", "0.9", "early_with_pause.min_ratio 0.9 must be at least 1")]
    [InlineData("rr_feature", "\"next_rr\"", "early_with_pause.rr_feature 'next_rr' is not one of input.rr_features")]
    public void A_pause_test_out_of_range_is_refused_with_the_reason(string member, string value, string expected)
    {
        var card = V2CardWithDecision(0.8, earlyWithPause: (0.9, 1.2));
        card["decision"]!["premature_supraventricular"]!["early_with_pause"]![member] = JsonNode.Parse(value);

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(card)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(expected);
    }

    [Theory]
    [InlineData("[\"N\", \"S\", \"V\"]", "from_labels cannot hold V")]
    [InlineData("[\"N\", \"X\"]", "from_labels 'X' is not one of the card's labels")]
    [InlineData("[]", "from_labels must name at least one label")]
    public void A_decision_that_would_re_decide_V_or_an_unknown_label_is_refused(string fromLabels, string expected)
    {
        var card = V2CardWithDecision(0.8);
        card["decision"]!["premature_supraventricular"]!["from_labels"] = JsonNode.Parse(fromLabels);

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(card)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(expected);
    }

    [Fact]
    public void A_decision_for_labels_without_S_is_refused()
    {
        var card = V2CardWithDecision(0.8);
        card["labels"] = new JsonArray("N", "X", "V", "F", "Q");

        Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(card))).Message.ShouldContain("needs the labels N and S");
    }

    [Fact]
    public async Task The_bus_answers_each_beat_class_after_the_decision_with_the_request_AF_flags()
    {
        using var dir = TestFiles.NewTempDir();
        WriteV2Card(dir, 0.8);
        using var host = await TestFiles.StartInferenceAsync(dir.Path);
        var bus = host.Services.GetRequiredService<IMessageBus>();
        var model = host.Services.GetRequiredService<ModelRegistry>().Default;
        var v = model.Card.TestVectors[1]; // the tiny model calls this one N
        var windows = v.Beat.SelectMany(c => c).Concat(v.Beat.SelectMany(c => c)).Concat(v.Beat.SelectMany(c => c)).ToArray();
        var rr = new float[3 * model.RrFeatureCount];
        for (var i = 0; i < 3; i++)
        {
            v.Rr.CopyTo(rr, i * model.RrFeatureCount);
        }

        rr[PreLongRatio] = 0.6f; // premature
        rr[model.RrFeatureCount + PreLongRatio] = 0.6f; // premature, but in AF
        rr[(2 * model.RrFeatureCount) + PreLongRatio] = 1.0f; // on time

        var result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(
            new ClassifyBeatsRequest("beat-window-v2", 3, windows, rr, InAf: [false, true, false]));

        result.Classes.ShouldBe([S, N, N]);
        result.ClassesInAf.ShouldBe([N, N, N]);
        var probabilities = result.Probabilities.AsSpan(0, 5).ToArray();
        Array.IndexOf(probabilities, probabilities.Max()).ShouldBe(N);

        // Without AF flags: the classes as if outside AF, and those in AF beside them, for a caller that learns the rhythm later.
        result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(new ClassifyBeatsRequest("beat-window-v2", 3, windows, rr));
        result.Classes.ShouldBe([S, S, N]);
        result.ClassesInAf.ShouldBe([N, N, N]);

        var e = await Should.ThrowAsync<ArgumentException>(() => bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(
            new ClassifyBeatsRequest("beat-window-v2", 3, windows, rr, InAf: [false])));
        e.Message.ShouldContain("1 AF flags");
    }

    [Fact]
    public void The_shipped_model_decides_premature_S_outside_AF()
    {
        using var registry = new ModelRegistry();
        registry.LoadDirectory(TestFiles.ModelsDirectory);
        var rule = registry.Default.Card.Decision.ShouldNotBeNull().PrematureSupraventricular.ShouldNotBeNull();
        rule.RrFeature.ShouldBe("pre_long_ratio");
        rule.MaxRatio.ShouldBe(0.8);
        rule.NormalInAf.ShouldBeTrue();
        rule.VMinProbability.ShouldBe(0.1);
        rule.FromLabels.ShouldBe(["N", "S", "F"]);
        var pause = rule.EarlyWithPause.ShouldNotBeNull();
        (pause.MaxRatio, pause.RrFeature, pause.MinRatio).ShouldBe((0.9, "post_pre_ratio", 1.2));
        var after = registry.Default.Card.CrossValidation.ShouldNotBeNull().AfterDecision.ShouldNotBeNull();
        after.Classes.ShouldNotBeNull()["S"].Se.ShouldNotBeNull().ShouldBeGreaterThan(registry.Default.Card.CrossValidation!.Classes!["S"].Se!.Value);
    }

    [Fact]
    public void Premature_beats_the_network_calls_V_are_flagged_as_ectopy_and_late_or_other_beats_are_not()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyV2Card);
        const int PreRatio = 3; // in the v2 RR features
        (int Label, float PreRatio)[] beats = [(V, 0.6f), (V, 0.89f), (V, 0.9f), (V, 1.3f), (N, 0.6f), (S, 0.5f), (F, 0.6f), (V, float.NaN)];
        int n = beats.Length;
        var (p, rr) = Inputs(model, beats, PreRatio);

        var flags = new bool[n];
        model.FlagVentricularEctopy(p, rr, n, flags);

        // Early V beats only: a paced or escape beat (on time or late) is not ectopy, nor is a beat of another class.
        flags.ShouldBe([true, true, false, false, false, false, false, false]);
        Should.Throw<ArgumentException>(() => model.FlagVentricularEctopy(p, rr, n + 1, new bool[n + 1]));
    }

    [Fact]
    public async Task The_bus_answers_the_ectopy_flags_beside_the_classes()
    {
        // The shipped model on its own test vectors (real beats of several classes), every one of them made early.
        using var host = await TestFiles.StartInferenceAsync(TestFiles.ModelsDirectory);
        var bus = host.Services.GetRequiredService<IMessageBus>();
        var model = host.Services.GetRequiredService<ModelRegistry>().Default;
        var vectors = model.Card.TestVectors;
        var windows = vectors.SelectMany(v => v.Beat.SelectMany(c => c)).ToArray();
        var rr = vectors.SelectMany(v => v.Rr).ToArray();
        var preRatio = model.Card.Input.RrFeatures.ToList().IndexOf(BeatClassifier.EctopyRrFeature);
        for (var i = 0; i < vectors.Count; i++)
        {
            rr[(i * model.RrFeatureCount) + preRatio] = 0.6f;
        }

        var result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(new ClassifyBeatsRequest("beat-window-v3", vectors.Count, windows, rr));

        var expected = new bool[vectors.Count];
        model.FlagVentricularEctopy(result.Probabilities, rr, vectors.Count, expected);
        expected.ShouldContain(true);
        expected.ShouldContain(false);
        result.VentricularEctopy.ShouldBe(expected);
    }

    // Probabilities that make `label` the most probable, with the given pre/long RR ratio.
    private static int[] Decide(BeatClassifier model, (int Label, float Ratio)[] beats, bool[]? inAf)
    {
        int n = beats.Length;
        var (p, rr) = Inputs(model, beats, PreLongRatio);
        var labels = new int[n];
        model.Decide(p, rr, inAf, n, labels);
        return labels;
    }

    // Probabilities that make each beat's label the most probable, and RR features with the given value at `feature`.
    private static (float[] P, float[] Rr) Inputs(BeatClassifier model, (int Label, float Value)[] beats, int feature)
    {
        int n = beats.Length;
        var p = new float[n * model.ClassCount];
        var rr = new float[n * model.RrFeatureCount];
        for (var i = 0; i < n; i++)
        {
            p.AsSpan(i * model.ClassCount, model.ClassCount).Fill(0.1f);
            p[(i * model.ClassCount) + beats[i].Label] = 0.6f;
            rr[(i * model.RrFeatureCount) + feature] = beats[i].Value;
        }

        return (p, rr);
    }

    private static JsonObject V2CardWithDecision(
        double maxRatio, double? vMinProbability = null, string[]? fromLabels = null, (double MaxRatio, double MinRatio)? earlyWithPause = null)
    {
        var card = JsonNode.Parse(File.ReadAllText(TestFiles.TinyV2Card))!.AsObject();
        var rule = new JsonObject { ["rr_feature"] = "pre_long_ratio", ["max_ratio"] = maxRatio, ["normal_in_af"] = true };
        if (vMinProbability is { } v)
        {
            rule["v_min_probability"] = v;
        }

        if (fromLabels is not null)
        {
            rule["from_labels"] = new JsonArray([.. fromLabels.Select(l => (JsonNode)l)]);
        }

        if (earlyWithPause is { } pause)
        {
            rule["early_with_pause"] = new JsonObject { ["max_ratio"] = pause.MaxRatio, ["rr_feature"] = "post_pre_ratio", ["min_ratio"] = pause.MinRatio };
        }

        card["decision"] = new JsonObject { ["premature_supraventricular"] = rule };
        return card;
    }

    private static string WriteV2Card(
        TempDir dir, double maxRatio, double? vMinProbability = null, string[]? fromLabels = null, (double MaxRatio, double MinRatio)? earlyWithPause = null)
    {
        dir.CopyTinyV2();
        var path = dir.File("tiny-beat-v2.json");
        File.WriteAllText(path, TestFiles.ToJson(V2CardWithDecision(maxRatio, vMinProbability, fromLabels, earlyWithPause)));
        return path;
    }
}
