using HeartTwin.Contracts;
using HeartTwin.Inference;
using HeartTwin.Signals.Beats;

namespace HeartTwin.Agent.Tests;

/// <summary>
/// The twin finishes beat-cnn 2.4.0's decision in the Agent (the families are per-stream state): beat by beat it must give
/// exactly the classes that <c>BeatClassifier.Decide</c> gives a whole stream with the same AF flags (issue 3).
/// </summary>
[Trait("Regression", "issue-3")]
public sealed class FamilyDecisionParityTests
{
    [Theory]
    [InlineData("201")] // AF episodes among sinus rhythm, aberrated and premature beats
    [InlineData("208")] // many PVCs: the families fill
    [InlineData("203")] // AF with aberrant conduction and multiform PVCs
    public void The_agent_s_fold_decides_each_beat_as_the_classifier_decides_the_stream(string name)
    {
        using var model = BeatClassifier.Load(Path.Combine(TestData.Models, "beat-cnn.json"));
        model.FamilyRule.ShouldNotBeNull();
        var record = RecordBeats.Load(name);
        int n = record.Features.Count;
        var windows = record.Features.SelectMany(f => f.Window).ToArray();
        var rr = record.Features.SelectMany(f => f.Rr).ToArray();
        var p = new float[n * model.ClassCount];
        model.Classify(windows, rr, n, p);
        // AF flags in long stretches and short flickers, so that both the V-in-AF rule and the in-AF classes are exercised.
        var inAf = Enumerable.Range(0, n).Select(i => (i / 300 % 2 == 1) || i % 97 == 0).ToArray();

        var expected = new int[n];
        model.Decide(p, rr, inAf, n, expected, windows, model.NewFamilies());

        // What the Inference handler answers (no AF flags in the request), then the Agent's fold, beat by beat.
        var outside = new int[n];
        var inside = new int[n];
        var ifNormal = new int[n];
        var ifNormalInAf = new int[n];
        var allInAf = Enumerable.Repeat(true, n).ToArray();
        model.Decide(p, rr, new bool[n], n, outside);
        model.Decide(p, rr, allInAf, n, inside);
        model.DecideAsNormal(p, rr, new bool[n], n, ifNormal);
        model.DecideAsNormal(p, rr, allInAf, n, ifNormalInAf);
        var rule = model.FamilyRule!;
        var settings = new BeatFamilySettings(rule.Channel, model.WindowSamples, rule.MinCorrelation, rule.Templates, rule.MinBeats, rule.Majority);
        var stream = new DeviceStream("d1");
        int changedByFamilies = 0;
        for (int i = 0; i < n; i++)
        {
            var probabilities = p.AsSpan(i * model.ClassCount, model.ClassCount).ToArray();
            int likeliest = Array.IndexOf(probabilities, probabilities.Max());
            var beat = new PendingBeat(new AcquiredBeat(DateTimeOffset.UnixEpoch.AddSeconds(i), 800, "MLII"), "d1", i, DateTimeOffset.UnixEpoch, "beat-window-v3",
                windows, i * model.BeatLength, model.BeatLength, rr, i * model.RrFeatureCount, model.RrFeatureCount)
            {
                Class = model.Labels[outside[i]],
                ClassInAf = model.Labels[inside[i]],
                Family = new FamilyInput(model.Id, settings, model.Card.Decision!.VentricularInAf!.MinProbability, model.Labels, probabilities, likeliest,
                    ifNormal[i], ifNormalInAf[i]),
            };
            string before = inAf[i] ? model.Labels[inside[i]] : model.Labels[outside[i]];

            beat.SettleRhythm(inAf[i], stream.FamiliesFor);

            beat.Class.ShouldBe(model.Labels[expected[i]], $"beat {i}, in AF {inAf[i]}");
            changedByFamilies += beat.Class != before ? 1 : 0;
        }

        changedByFamilies.ShouldBeGreaterThan(0); // the families did overrule calls, so the comparison is not vacuous
    }
}
