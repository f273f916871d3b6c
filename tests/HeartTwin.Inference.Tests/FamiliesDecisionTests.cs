using System.Text.Json.Nodes;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Signals.Beats;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Inference.Tests;

/// <summary>beat-cnn 2.4.0's decision before the premature rule: V in AF needs evidence, then each stream's morphology families vote.</summary>
[Trait("Regression", "issue-3")]
public sealed class FamiliesDecisionTests
{
    private const int N = 0, V = 2;

    [Fact]
    public void The_card_states_both_rules_and_refuses_them_out_of_range()
    {
        var card = ModelCard.Parse(TestFiles.ToJson(Card()));
        card.Decision!.VentricularInAf!.MinProbability.ShouldBe(0.7);
        card.Decision.Families!.ToRule().ShouldBe(new BeatFamilyRule(0, 0.9, 16, 8, 2.0 / 3));

        Refused(c => c["decision"]!["ventricular_in_af"]!["min_probability"] = 0, "ventricular_in_af.min_probability 0 must be above 0");
        Refused(c => c["decision"]!["families"]!["majority"] = 0.4, "decision.families: ");
        Refused(c => c["decision"]!["families"]!["channel"] = 4, "decision.families.channel 4 is not one of the input's 4 channels");
    }

    [Fact]
    public void In_AF_a_V_call_needs_the_card_s_probability()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(Write(dir, Card()));
        model.DecisionUsesRhythm.ShouldBeTrue();
        var p = new float[] { 0.35f, 0, 0.65f, 0, 0, 0.2f, 0, 0.8f, 0, 0 };
        var rr = new float[2 * model.RrFeatureCount];
        rr.AsSpan().Fill(1f); // on time
        var labels = new int[2];

        model.Decide(p, rr, [true, true], 2, labels);
        labels.ShouldBe([N, V]); // 0.65 < 0.7: aberrant conduction; 0.8 stays V

        model.Decide(p, rr, [false, false], 2, labels);
        labels.ShouldBe([V, V]);
    }

    [Fact]
    public void A_stream_s_family_overrules_a_call_that_disagrees_with_its_majority()
    {
        using var dir = TestFiles.NewTempDir();
        using var model = BeatClassifier.Load(Write(dir, Card()));
        var window = model.Card.TestVectors[0].Beat.SelectMany(c => c).ToArray();
        const int n = 10;
        var windows = Enumerable.Repeat(window, n).SelectMany(w => w).ToArray();
        var p = new float[n * 5];
        for (int i = 0; i < n; i++)
        {
            p[(i * 5) + (i == n - 1 ? N : V)] = 0.9f; // nine V calls, then an N call of the same shape
        }

        var rr = new float[n * model.RrFeatureCount];
        rr.AsSpan().Fill(1f);
        var labels = new int[n];

        model.Decide(p, rr, new bool[n], n, labels, windows, model.NewFamilies());
        labels[^1].ShouldBe(V); // its family is V (9 of 10)

        model.Decide(p, rr, new bool[n], n, labels);
        labels[^1].ShouldBe(N); // without the families the call stands
    }

    [Fact]
    public async Task The_bus_answers_what_a_caller_needs_to_vote_the_families_and_keeps_no_state()
    {
        // Families are per-stream state, which the Agent keeps; Inference stays stateless and answers, per beat, the class
        // were its call N (outside AF and in AF), with the families' settings and the V-in-AF probability.
        // The tiny network calls its second test vector label 0; the card names label 0 "V" (and label 2 "N"), so the call is
        // V and what the decision makes of an N call differs from the class.
        using var dir = TestFiles.NewTempDir();
        var card = Card();
        card["labels"] = new JsonArray("V", "S", "N", "F", "Q");
        Write(dir, card);
        using var host = await TestFiles.StartInferenceAsync(dir.Path);
        var bus = host.Services.GetRequiredService<IMessageBus>();
        var model = host.Services.GetRequiredService<ModelRegistry>().Default;
        var vector = model.Card.TestVectors[1];
        var windows = Enumerable.Repeat(vector.Beat.SelectMany(c => c), 2).SelectMany(w => w).ToArray();
        var rr = Enumerable.Repeat(vector.Rr, 2).SelectMany(r => r).ToArray();
        rr[7] = 0.6f; // pre_long_ratio: the first beat is premature
        rr[model.RrFeatureCount + 7] = 1.0f; // the second on time

        var result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(new ClassifyBeatsRequest("beat-window-v2", 2, windows, rr));

        result.Classes.ShouldNotBeNull().Select(c => result.Labels[c]).ShouldBe(["V", "V"]);
        result.Families.ShouldBe(new BeatFamilySettings(0, 128, 0.9, 16, 8, 2.0 / 3));
        result.VentricularInAfMinProbability.ShouldBe(0.7);
        result.ClassesIfNormal.ShouldNotBeNull().Select(c => result.Labels[c]).ShouldBe(["S", "N"]);
        result.ClassesIfNormalInAf.ShouldNotBeNull().Select(c => result.Labels[c]).ShouldBe(["N", "N"]);

        // The same request again gets the same answer: nothing was learnt.
        var again = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(new ClassifyBeatsRequest("beat-window-v2", 2, windows, rr));
        again.Classes.ShouldBe(result.Classes);
        again.ClassesIfNormal.ShouldBe(result.ClassesIfNormal);
    }

    [Fact]
    public async Task A_model_without_families_answers_none_of_their_fields()
    {
        using var dir = TestFiles.NewTempDir();
        var card = Card();
        card["decision"]!.AsObject().Remove("families");
        card["decision"]!.AsObject().Remove("ventricular_in_af");
        Write(dir, card);
        using var host = await TestFiles.StartInferenceAsync(dir.Path);
        var bus = host.Services.GetRequiredService<IMessageBus>();
        var model = host.Services.GetRequiredService<ModelRegistry>().Default;
        var vector = model.Card.TestVectors[1];

        var result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(
            new ClassifyBeatsRequest("beat-window-v2", 1, [.. vector.Beat.SelectMany(c => c)], vector.Rr));

        result.Families.ShouldBeNull();
        result.ClassesIfNormal.ShouldBeNull();
        result.ClassesIfNormalInAf.ShouldBeNull();
        result.VentricularInAfMinProbability.ShouldBeNull();
    }

    private static void Refused(Action<JsonObject> change, string expected)
    {
        var card = Card();
        change(card);
        Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(card))).Message.ShouldContain(expected);
    }

    /// <summary>The tiny v2 fixture with 2.4.0's decision.</summary>
    private static JsonObject Card(double minVInAf = 0.7)
    {
        var card = JsonNode.Parse(File.ReadAllText(TestFiles.TinyV2Card))!.AsObject();
        card["decision"] = new JsonObject
        {
            ["premature_supraventricular"] = new JsonObject { ["rr_feature"] = "pre_long_ratio", ["max_ratio"] = 0.8, ["normal_in_af"] = true },
            ["ventricular_in_af"] = new JsonObject { ["min_probability"] = minVInAf },
            ["families"] = new JsonObject { ["channel"] = 0, ["min_correlation"] = 0.9, ["templates"] = 16, ["min_beats"] = 8, ["majority"] = 2.0 / 3 },
        };
        return card;
    }

    private static string Write(TempDir dir, JsonObject card)
    {
        dir.CopyTinyV2();
        var path = dir.File("tiny-beat-v2.json");
        File.WriteAllText(path, TestFiles.ToJson(card));
        return path;
    }
}
