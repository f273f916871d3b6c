using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;
using HeartTwin.Signals.Wfdb;
using Xunit.Abstractions;

namespace HeartTwin.Agent.Tests;

/// <summary>The Agent on real MIT-BIH records, with the shipped beat model behind the bus.</summary>
public sealed class RecordTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = AgentHarness.Epoch;

    [Theory]
    [InlineData("203")]
    [InlineData("223")]
    public async Task Ventricular_runs_in_the_annotations_raise_one_proposal_each(string name)
    {
        var record = RecordBeats.Load(name);
        var runs = AnnotatedRuns(record, 3);
        runs.Count.ShouldBeGreaterThan(0, $"record {name} has no annotated ventricular run");
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(record.Messages("p1", "d1", Start));

        var proposals = agent.Recorder.Of(EventTypes.VentricularRun);
        int found = runs.Count(r => proposals.Any(p => Math.Abs((p.OccurredAt - r).TotalSeconds) < 2));
        int matching = proposals.Count(p => runs.Any(r => Math.Abs((p.OccurredAt - r).TotalSeconds) < 2));
        output.WriteLine($"{name}: {runs.Count} annotated runs, {proposals.Count} proposals, {found} runs found, {matching} proposals on a run");
        found.ShouldBeGreaterThanOrEqualTo((int)Math.Ceiling(0.8 * runs.Count));
        // A couplet of which the model calls a third beat V (or the annotators call one beat of a run F) makes a run that
        // is not in the annotations; most proposals must still be annotated runs. Measured: 203 21 of 31, 223 7 of 8 (203 had
        // 21 of 29 before the AF detector evened out V beats: a few more of its beats are now judged outside AF, where a
        // premature beat the network gives some V probability is called V).
        matching.ShouldBeGreaterThanOrEqualTo((int)Math.Ceiling(0.6 * proposals.Count));
        proposals.Select(p => p.ActionId).Distinct().Count().ShouldBe(proposals.Count);
        var first = proposals[0];
        first.Command.ShouldNotBeNull().Name.ShouldBe(DeviceCommands.RaiseAlarm);
        first.Command.Parameters["level"].ShouldBe("3");
        first.DeviceId.ShouldBe("d1");
        first.Reason.ShouldContain("ventricular beats in a row");
        int.Parse(first.Details["beats"], System.Globalization.CultureInfo.InvariantCulture).ShouldBe(3);
        first.SourceReceivedAt.ShouldBeGreaterThanOrEqualTo(first.OccurredAt);
        first.SourceReceivedAt.ShouldBeLessThan(first.OccurredAt + TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_record_without_ventricular_runs_raises_none()
    {
        var record = RecordBeats.Load("101");
        AnnotatedRuns(record, 3).ShouldBeEmpty();
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(record.Messages("p1", "d1", Start, untilSeconds: 600));

        agent.Recorder.Of(EventTypes.VentricularRun).ShouldBeEmpty();
        agent.Recorder.Of(EventTypes.AfOnset).ShouldBeEmpty();
    }

    [Fact]
    public async Task Frequent_ventricular_ectopy_without_AF_raises_no_AF_onset()
    {
        // 106: sinus rhythm with PVCs in bigeminy and trigeminy. On RR intervals alone the AF detector flags over 500
        // of its beats; the model's V beats, evened out before the intervals are judged, leave none.
        var record = RecordBeats.Load("106");
        AfEpisodes(record).ShouldBeEmpty();
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(record.Messages("p1", "d1", Start));

        agent.Recorder.Of(EventTypes.AfOnset).ShouldBeEmpty();
        agent.Recorder.LatestState("p1").ShouldNotBeNull().AfBurdenPercent.ShouldBe(0);
    }

    [Theory]
    [InlineData("201")]
    [InlineData("203")]
    public async Task Atrial_fibrillation_in_the_annotations_raises_an_onset(string name)
    {
        var record = RecordBeats.Load(name);
        var episodes = AfEpisodes(record);
        episodes.Count.ShouldBeGreaterThan(0);
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(record.Messages("p1", "d1", Start));

        var onsets = agent.Recorder.Of(EventTypes.AfOnset);
        output.WriteLine($"{name}: episodes {string.Join(", ", episodes.Select(e => $"{(e.From - Start).TotalSeconds:0}-{(e.To - Start).TotalSeconds:0}"))}; onsets {string.Join(", ", onsets.Select(o => $"{(o.OccurredAt - Start).TotalSeconds:0}"))}; offsets {string.Join(", ", agent.Recorder.Of(EventTypes.AfOffset).Select(o => $"{(o.OccurredAt - Start).TotalSeconds:0}"))}");
        onsets.ShouldNotBeEmpty();
        onsets.ShouldAllBe(o => episodes.Any(e => o.OccurredAt >= e.From - TimeSpan.FromSeconds(60) && o.OccurredAt <= e.To));
        onsets[0].Command.ShouldNotBeNull().Parameters["level"].ShouldBe("2");
        onsets[0].Reason.ShouldContain("Atrial fibrillation began");
        var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
        state.AfBurdenPercent.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Heart_rate_follows_the_annotations_within_2_bpm()
    {
        // Record 100 is not among the shared records; 101 is the other clean sinus record of the set.
        var record = RecordBeats.Load("101");
        await using var agent = await AgentHarness.StartAsync();
        var checks = 0;
        foreach (var minute in new[] { 1, 3, 5, 8, 12 })
        {
            var until = minute * 60.0;
            var from = (minute - 1) * 60.0;
            await agent.FeedAsync(record.Messages("p1", "d1", Start, untilSeconds: until).SkipWhile(m => m.Beats.Count > 0 && (m.Beats[^1].Time - Start).TotalSeconds < from));
            var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
            var end = state.SignalTime!.Value;
            var reference = ReferenceBpm(record, end - TimeSpan.FromSeconds(10), end);
            output.WriteLine($"minute {minute}: twin {state.HeartRateBpm:0.0} bpm, annotations {reference:0.0} bpm");
            state.HeartRateBpm.ShouldNotBeNull().ShouldBe(reference, 2.0);
            checks++;
        }

        var last = agent.Recorder.LatestState("p1")!;
        last.SdnnMs.ShouldNotBeNull().ShouldBeGreaterThan(0);
        last.RmssdMs.ShouldNotBeNull();
        last.Pnn50Percent.ShouldNotBeNull().ShouldBeInRange(0, 100);
        last.ModelId.ShouldBe("beat-cnn@3.4.0");
        last.BeatCounts["N"].ShouldBeGreaterThan(0);
        last.Rhythm.ShouldBe(RhythmLabels.Regular);
        checks.ShouldBe(5);
    }

    [Theory]
    [Trait("Regression", "issue-3")]
    [InlineData("220", 94, 75L, 125L)] // 94 atrial premature beats in sinus rhythm
    [InlineData("203", 2, 0L, 80L)] // AF and flutter for most of the record: no beat in AF is a premature S beat
    public async Task Premature_supraventricular_beats_are_counted_S_outside_AF(string name, int annotated, long min, long max)
    {
        var record = RecordBeats.Load(name);
        record.Symbols.Count(s => s is "A" or "a" or "J" or "S").ShouldBe(annotated);
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(record.Messages("p1", "d1", Start));

        var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
        long s = state.BeatCounts.GetValueOrDefault("S");
        output.WriteLine($"{name}: {annotated} annotated S, {s} counted S; counts {string.Join(", ", state.BeatCounts.Select(kv => $"{kv.Key} {kv.Value}"))}");
        s.ShouldBeInRange(min, max);
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public async Task A_decision_that_depends_on_the_rhythm_is_settled_beat_by_beat_by_the_AF_state()
    {
        // A classifier whose decision is S outside AF and N in AF (its network finds N most probable): the Agent must keep
        // the decided class, pick by its own AF state at each beat, and report the confidence of the pair decided between.
        await using var agent = await AgentHarness.StartAsync(configure: s =>
            s.AddSingleton<IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>>(new RhythmDecidingClassifier()));
        var record = RecordBeats.Load("201");

        await agent.FeedAsync(record.Messages("p1", "d1", Start));

        var onsets = agent.Recorder.Of(EventTypes.AfOnset);
        onsets.ShouldNotBeEmpty();
        var beats = agent.Recorder.Analyses.SelectMany(a => a.Beats).ToList();
        var inAf = beats.Where(b => b.Class == "N").ToList();
        var outside = beats.Where(b => b.Class == "S").ToList();
        (inAf.Count + outside.Count).ShouldBe(beats.Count);
        inAf.Count.ShouldBeGreaterThan(beats.Count / 10); // 201 is in AF for about a third of its beats
        outside.Count.ShouldBeGreaterThan(beats.Count / 3);
        inAf.ShouldAllBe(b => Math.Abs(b.Confidence - 0.7) < 1e-6);
        outside.ShouldAllBe(b => Math.Abs(b.Confidence - 0.9) < 1e-6);
        // Beats settled as in AF come after the first confirmed onset, and mostly inside the annotated episodes.
        inAf.ShouldAllBe(b => b.Time >= onsets[0].OccurredAt);
        var episodes = AfEpisodes(record);
        inAf.Count(b => episodes.Any(e => b.Time >= e.From && b.Time <= e.To)).ShouldBeGreaterThan(inAf.Count * 8 / 10);
    }

    [Theory]
    [Trait("Regression", "issue-3")]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_model_s_morphology_families_overrule_odd_calls_as_the_agent_folds_each_stream(bool families)
    {
        // A classifier that calls every 10th beat of 119 V (its network's likeliest), the rest N, all on time, whatever the
        // beat's shape (119 has normal beats and PVCs in bigeminy): every family's calls are then mostly N, so with families
        // they overrule those V calls once they hold 8 beats; a beat overruled takes the class Inference answered for an N
        // call (ClassesIfNormal: N). Without, they stay V. FamilyDecisionParityTests checks every case against Decide.
        var classifier = new EveryTenthV(families);
        await using var agent = await AgentHarness.StartAsync(configure: s =>
            s.AddSingleton<IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>>(classifier));
        var record = RecordBeats.Load("119");

        await agent.FeedAsync(record.Messages("p1", "d1", Start, untilSeconds: 300));

        var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
        long v = state.BeatCounts.GetValueOrDefault("V");
        long n = state.BeatCounts.GetValueOrDefault("N");
        output.WriteLine($"families {families}: V {v}, N {n}");
        if (families)
        {
            v.ShouldBeLessThanOrEqualTo(3); // the first V calls, before the family votes (and any beat of an odd shape)
        }
        else
        {
            ((double)v).ShouldBe((n + v) / 10.0, 2);
        }
    }

    private sealed class EveryTenthV(bool families) : IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>
    {
        private static readonly float[] Normal = [0.9f, 0.05f, 0.03f, 0.01f, 0.01f];
        private static readonly float[] Ventricular = [0.1f, 0.05f, 0.8f, 0.03f, 0.02f];
        private int _beats;

        public Task<ClassifyBeatsResult> HandleAsync(ClassifyBeatsRequest request, CancellationToken cancellationToken)
        {
            int n = request.BeatCount;
            var calls = Enumerable.Range(0, n).Select(_ => Interlocked.Increment(ref _beats) % 10 == 1 ? 2 : 0).ToArray();
            var p = calls.SelectMany(c => c == 2 ? Ventricular : Normal).ToArray();
            var normal = new int[n];
            return Task.FromResult(new ClassifyBeatsResult("fake@1", ["N", "S", "V", "F", "Q"], p, calls, calls,
                ClassesIfNormal: families ? normal : null, ClassesIfNormalInAf: families ? normal : null,
                Families: families ? new BeatFamilySettings(0, 128, 0.9, 16, 8, 2.0 / 3) : null, VentricularInAfMinProbability: 0.7));
        }
    }

    private sealed class RhythmDecidingClassifier : IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>
    {
        private static readonly float[] Probabilities = [0.7f, 0.2f, 0.05f, 0.03f, 0.02f];

        public Task<ClassifyBeatsResult> HandleAsync(ClassifyBeatsRequest request, CancellationToken cancellationToken)
        {
            var p = Enumerable.Range(0, request.BeatCount).SelectMany(_ => Probabilities).ToArray();
            return Task.FromResult(new ClassifyBeatsResult("fake@1", ["N", "S", "V", "F", "Q"], p,
                [.. Enumerable.Repeat(1, request.BeatCount)], [.. Enumerable.Repeat(0, request.BeatCount)]));
        }
    }

    /// <summary>The signal times of the first V beat of every run of at least <paramref name="length"/> annotated V beats.</summary>
    internal static List<DateTimeOffset> AnnotatedRuns(RecordBeats record, int length)
    {
        var runs = new List<DateTimeOffset>();
        int run = 0;
        for (int i = 0; i <= record.Symbols.Length; i++)
        {
            if (i < record.Symbols.Length && record.Symbols[i] is "V" or "E")
            {
                run++;
                continue;
            }

            if (run >= length)
            {
                runs.Add(record.TimeOf(Start, record.Samples[i - run]));
            }

            run = 0;
        }

        return runs;
    }

    private static List<(DateTimeOffset From, DateTimeOffset To)> AfEpisodes(RecordBeats record)
    {
        var episodes = new List<(DateTimeOffset, DateTimeOffset)>();
        DateTimeOffset? from = null;
        foreach (var a in record.Annotations.Where(a => a.RhythmName is not null))
        {
            var t = record.TimeOf(Start, a.Sample);
            if (a.RhythmName == "AFIB")
            {
                from ??= t;
            }
            else if (from is not null)
            {
                episodes.Add((from.Value, t));
                from = null;
            }
        }

        if (from is not null)
        {
            episodes.Add((from.Value, record.TimeOf(Start, record.Samples[^1])));
        }

        return episodes;
    }

    private static double ReferenceBpm(RecordBeats record, DateTimeOffset from, DateTimeOffset to)
    {
        var rr = new List<double>();
        for (int i = 1; i < record.Samples.Length; i++)
        {
            var t = record.TimeOf(Start, record.Samples[i]);
            if (t > from && t <= to)
            {
                rr.Add((record.Samples[i] - record.Samples[i - 1]) * 1000.0 / record.SampleRateHz);
            }
        }

        return 60000.0 / rr.Average();
    }
}
