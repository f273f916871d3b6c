using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeartTwin.Agent.Tests;

/// <summary>The Agent's rules on synthetic streams, and its idempotence.</summary>
public sealed class BehaviourTests
{
    private static readonly DateTimeOffset Start = AgentHarness.Epoch;

    /// <summary>Messages of one beat each second-or-so: the given RR intervals from <paramref name="from"/>, a message per beat.</summary>
    private static List<BeatsAcquired> Synthetic(string patient, string device, DateTimeOffset from, IEnumerable<double> rrMs, long firstSequence = 0, string spec = "beat-window-v3")
    {
        var messages = new List<BeatsAcquired>();
        var t = from;
        long sequence = firstSequence;
        foreach (var rr in rrMs)
        {
            t += TimeSpan.FromMilliseconds(rr);
            var window = new float[BeatWindowSpec.Version3.FeatureLength];
            var features = new float[] { (float)(rr / 1000), (float)(rr / 1000), (float)(rr / 1000), 1, 1, 1, (float)(rr / 1000), 1, 1 };
            messages.Add(new BeatsAcquired(patient, device, sequence++, t + TimeSpan.FromMilliseconds(300), spec,
                [new AcquiredBeat(t, rr, "MLII")], window, features));
        }

        return messages;
    }

    private static IEnumerable<double> Repeat(double rrMs, double seconds) => Enumerable.Repeat(rrMs, (int)(seconds * 1000 / rrMs));

    [Fact]
    public async Task Heart_rate_above_the_bound_is_proposed_once_per_excursion_after_it_is_sustained()
    {
        await using var agent = await AgentHarness.StartAsync();
        var rr = Repeat(800, 30).Concat(Repeat(400, 30)).Concat(Repeat(800, 30)).Concat(Repeat(400, 5)).Concat(Repeat(800, 10)).Concat(Repeat(400, 30));

        await agent.FeedAsync(Synthetic("p1", "d1", Start, rr));

        var high = agent.Recorder.Of(EventTypes.HeartRateHigh);
        high.Count.ShouldBe(2);
        // The 10 s average is 75 + 7.5 x bpm x seconds into the 150 bpm stretch: it crosses 120 bpm after 6 s, and must stay beyond for 10 s.
        (high[0].OccurredAt - Start).TotalSeconds.ShouldBeInRange(35.5, 37);
        (high[0].SourceReceivedAt - high[0].OccurredAt).TotalSeconds.ShouldBeInRange(10, 11);
        high[0].Reason.ShouldContain("above the 120 bpm limit");
        double.Parse(high[0].Details["heartRateBpm"], CultureInfo.InvariantCulture).ShouldBeGreaterThan(120);
        high[0].Command.ShouldBeNull();
        agent.Recorder.Of(EventTypes.HeartRateLow).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_spurious_beat_splitting_one_interval_does_not_raise_the_averaged_heart_rate()
    {
        await using var agent = await AgentHarness.StartAsync();
        // 75 bpm, then a noise spike detected as a beat 600 ms into an 800 ms interval (600 + 200), then 75 bpm again.
        var rr = Repeat(800, 20).Append(600).Append(200).Concat(Repeat(800, 4));

        await agent.FeedAsync(Synthetic("p1", "d1", Start, rr));

        var state = agent.Recorder.Analyses.Last(a => a.PatientId == "p1").State;
        state.HeartRateBpm.ShouldNotBeNull();
        state.HeartRateBpm.Value.ShouldBe(75, 0.5);
    }

    [Fact]
    public async Task A_premature_beat_with_its_compensatory_pause_keeps_both_intervals()
    {
        await using var agent = await AgentHarness.StartAsync();
        // A PVC at 60% of the cycle and its compensatory pause: two real beats, so the 10 s mean stays the plain mean of the intervals.
        var rr = Repeat(800, 20).Append(480).Append(1120).Concat(Repeat(800, 4));

        await agent.FeedAsync(Synthetic("p1", "d1", Start, rr));

        var state = agent.Recorder.Analyses.Last(a => a.PatientId == "p1").State;
        state.HeartRateBpm.ShouldNotBeNull();
        state.HeartRateBpm.Value.ShouldBe(75, 0.5);
    }

    [Fact]
    public async Task Heart_rate_below_the_configured_bound_is_proposed_and_rearms_only_past_the_hysteresis()
    {
        await using var agent = await AgentHarness.StartAsync(new() { ["Agent:HeartRateLowBpm"] = "50", ["Agent:HeartRateSustainSeconds"] = "5" });
        // 40 bpm, then 53 bpm (inside the bound but not past the 5 bpm hysteresis), 40 again: one proposal;
        // then 75 bpm re-arms it, and 40 bpm proposes again.
        var rr = Repeat(1500, 30).Concat(Repeat(1130, 30)).Concat(Repeat(1500, 30)).Concat(Repeat(800, 30)).Concat(Repeat(1500, 30));

        await agent.FeedAsync(Synthetic("p1", "d1", Start, rr));

        var low = agent.Recorder.Of(EventTypes.HeartRateLow);
        low.Count.ShouldBe(2);
        low[0].Reason.ShouldContain("below the 50 bpm limit");
        (low[1].OccurredAt - Start).TotalSeconds.ShouldBeGreaterThan(120);
    }

    [Fact]
    public async Task A_device_that_stops_sending_is_proposed_silent_once_until_it_sends_again()
    {
        await using var agent = await AgentHarness.StartAsync();
        await agent.FeedAsync(Synthetic("p1", "d1", Start, Repeat(800, 10)));
        agent.Clock.Advance(TimeSpan.FromSeconds(29));
        await agent.Scheduler.RunOnceAsync();
        agent.Recorder.Of(EventTypes.DeviceSilent).ShouldBeEmpty();

        agent.Clock.Advance(TimeSpan.FromSeconds(2));
        await agent.Scheduler.RunOnceAsync();
        agent.Clock.Advance(TimeSpan.FromSeconds(10));
        await agent.Scheduler.RunOnceAsync();

        var silent = agent.Recorder.Of(EventTypes.DeviceSilent).ShouldHaveSingleItem();
        silent.DeviceId.ShouldBe("d1");
        silent.Reason.ShouldContain("has sent no data");
        agent.Recorder.LatestState("p1")!.DeviceConnected.ShouldBeFalse();

        var resumed = agent.Clock.GetUtcNow();
        await agent.FeedAsync(Synthetic("p1", "d1", resumed, Repeat(800, 5), firstSequence: 100));
        agent.Recorder.LatestState("p1")!.DeviceConnected.ShouldBeTrue();
        agent.Clock.Advance(TimeSpan.FromSeconds(31));
        await agent.Scheduler.RunOnceAsync();
        agent.Recorder.Of(EventTypes.DeviceSilent).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_device_that_never_streamed_is_not_proposed_silent()
    {
        await using var agent = await AgentHarness.StartAsync();
        await agent.Bus.PublishAsync(new DeviceConnectionChanged("d9", "p9", true, Start, "mqtt"));
        agent.Clock.Advance(TimeSpan.FromMinutes(5));

        await agent.Scheduler.RunOnceAsync();

        agent.Recorder.Of(EventTypes.DeviceSilent).ShouldBeEmpty();
        agent.Recorder.LatestState("p9").ShouldNotBeNull().DeviceConnected.ShouldBeTrue();
    }

    [Fact]
    public async Task Redelivered_beats_are_not_counted_twice_and_raise_no_second_proposal()
    {
        var record = RecordBeats.Load("203");
        var messages = record.Messages("p1", "d1", Start, untilSeconds: 300).ToList();
        await using var agent = await AgentHarness.StartAsync();
        await agent.FeedAsync(messages);
        var once = agent.Recorder.LatestState("p1")!;
        var proposals = agent.Recorder.Proposals.Count;
        proposals.ShouldBeGreaterThan(0);

        // At-least-once delivery: every batch again, and some twice, in order as the bus keeps it.
        await agent.FeedAsync(messages.Concat(messages.Take(50)));

        var twice = agent.Recorder.LatestState("p1")!;
        twice.BeatCounts.Values.Sum().ShouldBe(once.BeatCounts.Values.Sum());
        twice.BeatCounts.Values.Sum().ShouldBe(record.Samples.Count(s => s < 300 * record.SampleRateHz));
        twice.LastSequence.ShouldBe(once.LastSequence);
        agent.Recorder.Proposals.Count.ShouldBe(proposals);
        agent.Recorder.Proposals.Select(p => p.ActionId).Distinct().Count().ShouldBe(proposals);
    }

    [Fact]
    public async Task The_same_finding_gets_the_same_action_id_in_another_agent()
    {
        var messages = RecordBeats.Load("203").Messages("p1", "d1", Start, untilSeconds: 120).ToList();
        List<string> first, second;
        await using (var a = await AgentHarness.StartAsync())
        {
            await a.FeedAsync(messages);
            first = [.. a.Recorder.Of(EventTypes.VentricularRun).Select(p => p.ActionId)];
        }

        await using (var b = await AgentHarness.StartAsync())
        {
            await b.FeedAsync(messages, analyseEvery: 3);
            second = [.. b.Recorder.Of(EventTypes.VentricularRun).Select(p => p.ActionId)];
        }

        first.ShouldNotBeEmpty();
        second.ShouldBe(first);
    }

    [Fact]
    public async Task A_sequence_gap_is_proposed_once_even_when_redelivered()
    {
        await using var agent = await AgentHarness.StartAsync();
        var gap = new SequenceGapDetected("d1", "p1", 10, 13, Start);

        await agent.Bus.PublishAsync(gap);
        await agent.Bus.PublishAsync(gap);
        await agent.Scheduler.RunOnceAsync();
        await agent.Bus.PublishAsync(gap);
        await agent.Scheduler.RunOnceAsync();

        var p = agent.Recorder.Of(EventTypes.SequenceGap).ShouldHaveSingleItem();
        p.Details["missingBatches"].ShouldBe("3");
        p.Reason.ShouldContain("3 data batch(es)");
        p.Severity.ShouldBe("info");
    }

    [Fact]
    public async Task Unusable_windows_for_the_configured_time_propose_signal_lost_once()
    {
        await using var agent = await AgentHarness.StartAsync(new() { ["Agent:WindowsPollSeconds"] = "1" });
        for (int w = 0; w < 6; w++)
        {
            bool unusable = w is >= 1 and <= 3;
            agent.Storage.Windows.Add(new WindowAcquired("p1", "d1", w, Start.AddSeconds(10 * w), Start.AddSeconds(10 * (w + 1)), 360, 180, ["MLII"],
                unusable ? 0.05 : 0.9, unusable ? "unusable" : "good", unusable ? ["flatline"] : [], unusable ? 0 : 12, unusable ? null : 72, [], Start.AddSeconds(10 * (w + 1) + 0.5)));
        }

        await agent.FeedAsync(Synthetic("p1", "d1", Start, Repeat(800, 5)));
        agent.Clock.Advance(TimeSpan.FromSeconds(2));
        await agent.Scheduler.RunOnceAsync();

        var lost = agent.Recorder.Of(EventTypes.SignalLost).ShouldHaveSingleItem();
        lost.OccurredAt.ShouldBe(Start.AddSeconds(10));
        lost.SourceReceivedAt.ShouldBe(Start.AddSeconds(30.5));
        lost.Reason.ShouldContain("flatline");
        agent.Recorder.LatestState("p1")!.SignalQuality.ShouldBe(0.9);

        agent.Clock.Advance(TimeSpan.FromSeconds(2));
        await agent.Scheduler.RunOnceAsync();
        agent.Recorder.Of(EventTypes.SignalLost).Count.ShouldBe(1);
    }

    [Fact]
    public async Task An_unknown_feature_spec_still_gives_heart_rate_but_no_classes()
    {
        await using var agent = await AgentHarness.StartAsync();

        await agent.FeedAsync(Synthetic("p1", "d1", Start, Repeat(750, 20), spec: "beat-window-v9"));

        var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
        state.HeartRateBpm.ShouldNotBeNull().ShouldBe(80, 0.5);
        state.BeatCounts.Values.Sum().ShouldBe(0);
        state.ModelId.ShouldBeNull();
    }

    [Fact]
    public async Task A_restart_rebuilds_counts_from_storage_and_drops_beats_already_analysed()
    {
        var storage = new FakeStorage();
        var restored = new TwinState("p1", Start, Start.AddSeconds(60), 75, 76, null, null, null, RhythmLabels.AtrialFibrillation,
            new Dictionary<string, long> { ["N"] = 70, ["V"] = 5 }, 40, 0.8, "beat-cnn@1.0.0", "d1", true, 59);
        storage.Patients.Add(new PatientSummary("p1", ["d1"], restored));
        await using var agent = await AgentHarness.StartAsync(storage: storage);

        // Beats up to 60 s were analysed before the restart; the stream redelivers from 50 s.
        await agent.FeedAsync(Synthetic("p1", "d1", Start.AddSeconds(50), Repeat(1000, 20), firstSequence: 50));

        var state = agent.Recorder.LatestState("p1").ShouldNotBeNull();
        state.BeatCounts.Values.Sum().ShouldBe(75 + 10);
        // 30 of 75 beats were in AF; the new detector flags beats only after its delay (about 100 beats), so none yet.
        state.AfBurdenPercent.ShouldBe(40, 0.5);
        state.Rhythm.ShouldBe(RhythmLabels.AtrialFibrillation);
        // The AF episode open before the restart is not proposed again.
        agent.Recorder.Of(EventTypes.AfOnset).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_scheduler_analyses_on_its_interval_and_at_once_on_request()
    {
        await using var agent = await AgentHarness.StartAsync(new() { ["Agent:IntervalSeconds"] = "1" });
        foreach (var m in Synthetic("p1", "d1", Start, Repeat(800, 3)))
        {
            await agent.Bus.PublishAsync(m);
        }

        agent.Clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntil(() => agent.Recorder.Analyses.Any(a => a.Beats.Count == 3));

        int before = agent.Recorder.Analyses.Count;
        await agent.Bus.PublishAsync(new AnalysisRequested("p1", "test"));
        await WaitUntil(() => agent.Recorder.Analyses.Count > before);
        agent.Recorder.Analyses.Last().Beats.ShouldBeEmpty();
    }

    [Fact]
    public async Task Bounds_that_overlap_stop_the_host_at_start()
    {
        var e = await Should.ThrowAsync<OptionsValidationException>(() => AgentHarness.StartAsync(new() { ["Agent:HeartRateLowBpm"] = "130" }));
        e.Message.ShouldContain("HeartRateLowBpm");
    }

    [Fact]
    public async Task Commands_are_configurable_per_event_type()
    {
        await using var agent = await AgentHarness.StartAsync(new()
        {
            ["Agent:Commands:ventricular-run:Name"] = "",
            ["Agent:Commands:heart-rate-high:Name"] = "raise-alarm",
            ["Agent:Commands:heart-rate-high:Parameters:level"] = "1",
        });
        var options = agent.Host.Services.GetRequiredService<IOptions<AgentOptions>>().Value;
        options.Commands["ventricular-run"].Name.ShouldBe("");
        options.Commands["af-onset"].Parameters["level"].ShouldBe("2");

        await agent.FeedAsync(Synthetic("p1", "d1", Start, Repeat(400, 30)));

        var high = agent.Recorder.Of(EventTypes.HeartRateHigh).ShouldHaveSingleItem();
        high.Command.ShouldNotBeNull().Parameters["level"].ShouldBe("1");
        high.Command.Parameters["message"].ShouldBe(high.Reason);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the condition did not come true within 10 s");
            await Task.Delay(10);
        }
    }
}
