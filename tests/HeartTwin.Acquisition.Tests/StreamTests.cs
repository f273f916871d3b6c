using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeartTwin.Acquisition.Tests;

/// <summary>Stream handling: quality, idempotency, restarts, many streams, bad input, publish failures, eviction, options.</summary>
public sealed class StreamTests
{
    private static readonly string[] MixedRecords = ["101", "119", "203", "208"];

    private static readonly LeadInfo[] TwoLeads = [new("MLII", 200, 1024), new("V1", 200, 1024)];

    private static IEnumerable<SamplesReceived> Synthetic(string device, Func<int, int, int> adc, int seconds, double rate = 360, long firstSequence = 0)
    {
        var n = (int)rate;
        for (var s = 0; s < seconds; s++)
        {
            var samples = TwoLeads.Select((_, l) => Enumerable.Range(s * n, n).Select(i => adc(l, i)).ToArray()).ToArray();
            yield return new SamplesReceived(device, "p-" + device, firstSequence + s, Harness.Epoch.AddSeconds(s), rate, TwoLeads, samples, DateTimeOffset.UtcNow, "http");
        }
    }

    [Fact]
    public async Task Clean_record_windows_are_of_good_quality()
    {
        await using var harness = new Harness();
        await harness.StreamAsync(DeviceRecord.Read("101", seconds: 300).Batches("dev", Harness.Epoch));

        var windows = harness.Recorder.WindowsOf("dev");
        windows.Count.ShouldBe(29);
        windows.ShouldAllBe(w => w.QualityCategory != "unusable");
        // 101 has episodes of baseline wander and noise (annotated ~): those windows are acceptable, the rest good.
        windows.Count(w => w.QualityCategory == "good").ShouldBeGreaterThanOrEqualTo(22);
        windows.ShouldAllBe(w => w.Quality >= 0.4 && w.Quality <= 1);
    }

    [Fact]
    public async Task Flat_line_is_unusable_with_no_beats()
    {
        await using var harness = new Harness();
        await harness.StreamAsync(Synthetic("flat", (_, _) => 1024, 30));

        var windows = harness.Recorder.WindowsOf("flat");
        windows.Count.ShouldBe(2);
        windows.ShouldAllBe(w => w.QualityCategory == "unusable" && w.Quality == 0 && w.BeatCount == 0 && w.HeartRateBpm == null);
        windows.ShouldAllBe(w => w.QualityIssues.Contains("flatline"));
        harness.Recorder.BeatsOf("flat").ShouldBeEmpty();
    }

    private static DeviceRecord Saturated(DeviceRecord record, params int[] leads) => record with
    {
        // Amplified 100 times around its baseline into an 11-bit ADC: QRS complexes, T and P waves sit on the rails.
        Adc = [.. record.Adc.Select((a, l) =>
        {
            if (!leads.Contains(l))
            {
                return a;
            }

            var median = a.Order().ElementAt(a.Length / 2);
            return a.Select(v => Math.Clamp(1024 + ((v - median) * 100), 0, 2047)).ToArray();
        })],
    };

    [Fact]
    public async Task Saturated_signal_is_unusable()
    {
        await using var harness = new Harness();
        await harness.StreamAsync(Saturated(DeviceRecord.Read("101", seconds: 30), 0, 1).Batches("sat", Harness.Epoch));

        var windows = harness.Recorder.WindowsOf("sat");
        windows.Count.ShouldBe(2);
        windows.ShouldAllBe(w => w.QualityCategory == "unusable" && w.Quality == 0 && w.QualityIssues.Contains("saturation"));
    }

    [Fact]
    public async Task One_saturated_lead_leaves_the_window_usable_through_the_other()
    {
        await using var harness = new Harness();
        await harness.StreamAsync(Saturated(DeviceRecord.Read("101", seconds: 30), 0).Batches("one", Harness.Epoch));

        var windows = harness.Recorder.WindowsOf("one");
        windows.Count.ShouldBe(2);
        windows.ShouldAllBe(w => w.QualityCategory != "unusable" && !w.QualityIssues.Contains("saturation"));
    }

    [Fact]
    public async Task Redelivered_batches_are_ignored_and_change_nothing()
    {
        var record = DeviceRecord.Read("119", seconds: 60);
        await using var once = new Harness();
        await once.StreamAsync(record.Batches("dev", Harness.Epoch));

        await using var twice = new Harness();
        foreach (var batch in record.Batches("dev", Harness.Epoch))
        {
            await twice.PublishAsync(batch);
            await twice.PublishAsync(batch);
            await twice.PublishAsync(batch with { ReceivedAt = batch.ReceivedAt.AddSeconds(1) });
        }

        // An older sequence arriving late is a redelivery too.
        await twice.PublishAsync(record.Batches("dev", Harness.Epoch).First());

        twice.Recorder.Beats.Count.ShouldBe(once.Recorder.Beats.Count);
        twice.Recorder.BeatsOf("dev").Select(b => (b.Time, b.RrMs)).ShouldBe(once.Recorder.BeatsOf("dev").Select(b => (b.Time, b.RrMs)));
        twice.Recorder.WindowsOf("dev").Select(w => (w.WindowSequence, w.BeatCount)).ShouldBe(once.Recorder.WindowsOf("dev").Select(w => (w.WindowSequence, w.BeatCount)));
        twice.Streams.TryGet("dev", out var state).ShouldBeTrue();
        state!.Segments.ShouldBe(1);
    }

    [Fact]
    public async Task A_new_sampling_rate_restarts_the_pipeline_cleanly()
    {
        var at360 = DeviceRecord.Read("101", seconds: 60);
        var at250 = DeviceRecord.Read("101", seconds: 120).Resampled(250);
        await using var harness = new Harness();
        await harness.StreamAsync(at360.Batches("dev", Harness.Epoch, toSample: 30 * 360));

        // The device switches to 250 Hz at 30 s; the stream continues in time.
        await harness.StreamAsync(at250.Batches("dev", Harness.Epoch, firstSequence: 30, fromSample: 30 * 250));

        harness.Streams.TryGet("dev", out var state).ShouldBeTrue();
        state!.Segments.ShouldBe(2);
        state.Pipeline!.SampleRateHz.ShouldBe(250);

        var windows = harness.Recorder.WindowsOf("dev");
        windows.Where(w => w.End <= Harness.Epoch.AddSeconds(30)).ShouldAllBe(w => w.DeviceSampleRateHz == 360);
        windows.Where(w => w.Start >= Harness.Epoch.AddSeconds(30)).ShouldAllBe(w => w.DeviceSampleRateHz == 250);
        windows.Select(w => w.WindowSequence).ShouldBeUnique();
        windows.Count.ShouldBe(11); // 3 before the switch, 9 after, less the last one still waiting for its decision delay

        // Beats continue across the switch at the right times, the first of the new segment without an RR interval.
        var beats = harness.Recorder.BeatsOf("dev");
        var after = beats.Where(b => b.Time >= Harness.Epoch.AddSeconds(30)).ToList();
        after.Count.ShouldBeGreaterThan(80);
        after[0].RrMs.ShouldBe(0);
        var reference = at250.ReferenceBeats.Where(b => b >= 30 * 250).ToArray();
        var detected = after.Select(b => DetectionTests.SampleOf(b.Time, Harness.Epoch, 250)).ToArray();
        detected.Count(d => reference.Any(r => Math.Abs(r - d) <= 0.15 * 250)).ShouldBeGreaterThanOrEqualTo(detected.Length - 1);

        // The beats pending at the switch were flushed, not lost: no reference beat before the switch is missing but the first.
        var before = beats.Where(b => b.Time < Harness.Epoch.AddSeconds(30)).Select(b => DetectionTests.SampleOf(b.Time, Harness.Epoch, 360)).ToArray();
        at360.ReferenceBeats.Where(r => r < 30 * 360).Count(r => !before.Any(d => Math.Abs(r - d) <= 54)).ShouldBeLessThanOrEqualTo(1);
    }

    [Fact]
    public async Task A_gap_in_time_restarts_the_pipeline_and_beats_keep_their_true_times()
    {
        var record = DeviceRecord.Read("119", seconds: 120);
        await using var harness = new Harness();
        await harness.StreamAsync(record.Batches("dev", Harness.Epoch, toSample: 40 * 360));

        // Five batches (40–45 s) never arrive.
        await harness.StreamAsync(record.Batches("dev", Harness.Epoch, firstSequence: 45, fromSample: 45 * 360));

        harness.Streams.TryGet("dev", out var state).ShouldBeTrue();
        state!.Segments.ShouldBe(2);
        var beats = harness.Recorder.BeatsOf("dev");
        beats.ShouldNotContain(b => b.Time > Harness.Epoch.AddSeconds(40.2) && b.Time < Harness.Epoch.AddSeconds(45));
        var after = beats.Where(b => b.Time >= Harness.Epoch.AddSeconds(45)).Select(b => DetectionTests.SampleOf(b.Time, Harness.Epoch, 360)).ToArray();
        after.Length.ShouldBeGreaterThan(60);
        after.Count(d => record.ReferenceBeats.Any(r => Math.Abs(r - d) <= 54)).ShouldBeGreaterThanOrEqualTo(after.Length - 1);

        // The window cut by the gap (40–50 s) is emitted at most once under its index.
        harness.Recorder.WindowsOf("dev").Select(w => w.WindowSequence).ShouldBeUnique();
    }

    [Fact]
    public async Task Many_interleaved_streams_keep_their_own_state()
    {
        var records = MixedRecords.Select(r => DeviceRecord.Read(r, seconds: 40)).ToArray();
        const int devices = 12;

        await using var alone = new Harness();
        for (var d = 0; d < records.Length; d++)
        {
            await alone.StreamAsync(records[d].Batches("solo-" + d, Harness.Epoch));
        }

        await using var harness = new Harness();
        var streams = Enumerable.Range(0, devices).Select(d => records[d % records.Length].Batches("dev-" + d, Harness.Epoch, patient: "p" + (d % 5)).ToList()).ToList();
        for (var second = 0; second < streams[0].Count; second++)
        {
            // Every device's batch of this second, published at once from many tasks, as many connections would.
            await Task.WhenAll(streams.Select(s => harness.Bus.PublishAsync(s[second])));
            await harness.Provider.GetRequiredService<InMemoryBus>().WhenIdleAsync();
        }

        harness.Streams.Count.ShouldBe(devices);
        for (var d = 0; d < devices; d++)
        {
            var expected = alone.Recorder.BeatsOf("solo-" + (d % records.Length)).Select(b => b.Time).ToList();
            expected.Count.ShouldBeGreaterThan(30);
            harness.Recorder.BeatsOf("dev-" + d).Select(b => b.Time).ShouldBe(expected);
            harness.Recorder.WindowsOf("dev-" + d).Select(w => w.HeartRateBpm)
                .ShouldBe(alone.Recorder.WindowsOf("solo-" + (d % records.Length)).Select(w => w.HeartRateBpm));
        }
    }

    [Fact]
    public async Task Bad_batches_are_skipped_without_failing_the_bus_and_the_stream_goes_on()
    {
        await using var harness = new Harness();
        var good = DeviceRecord.Read("101", seconds: 30).Batches("dev", Harness.Epoch).ToList();
        var bad = new[]
        {
            good[0] with { Sequence = 100, Samples = [good[0].Samples[0]] },                          // lead count ≠ arrays
            good[0] with { Sequence = 101, SampleRateHz = 5 },                                          // absurd rate
            good[0] with { Sequence = 102, SampleRateHz = double.NaN },
            good[0] with { Sequence = 103, Leads = [new("MLII", 0, 0), new("V1", 200, 0)] },            // zero gain
            good[0] with { Sequence = 104, Samples = [good[0].Samples[0], good[0].Samples[1][..10]] }, // ragged
            good[0] with { Sequence = 105, Leads = [], Samples = [] },                                  // nothing
            good[0] with { Sequence = 106, SampleRateHz = 359.99 },                                     // a ratio the resampler refuses
        };
        foreach (var batch in bad)
        {
            await harness.PublishAsync(batch);
        }

        harness.DeadLetters.ShouldBe(0);
        harness.Recorder.Beats.ShouldBeEmpty();
        harness.Recorder.Windows.ShouldBeEmpty();

        await harness.StreamAsync(good.Select((b, i) => b with { Sequence = 200 + i }));
        harness.Recorder.BeatsOf("dev").Count.ShouldBeGreaterThan(25);
        harness.Recorder.WindowsOf("dev").Count.ShouldBe(2);
    }

    [Fact]
    public async Task Messages_refused_downstream_are_kept_and_published_when_the_bus_retries_the_batch()
    {
        await using var harness = new Harness(new() { ["Messaging:MaxAttempts"] = "2", ["Messaging:RetryDelayMs"] = "0" });
        var batches = DeviceRecord.Read("101", seconds: 30).Batches("dev", Harness.Epoch).ToList();
        await harness.StreamAsync(batches.Take(12));

        // Storage refuses the beats on both of their attempts: Acquisition's handling of the batch fails, and the bus
        // delivers the batch to Acquisition again, which must publish the beats it kept, once.
        harness.Recorder.FailNext(2);
        await harness.PublishAsync(batches[12]);
        harness.DeadLetters.ShouldBe(1); // the refused beats' own delivery; the batch itself was not given up on
        await harness.StreamAsync(batches.Skip(13));

        await using var reference = new Harness();
        await reference.StreamAsync(batches);
        harness.Recorder.BeatsOf("dev").Select(b => b.Time).ShouldBe(reference.Recorder.BeatsOf("dev").Select(b => b.Time));
        harness.Recorder.Beats.Select(b => b.Sequence).ShouldBeUnique();
    }

    [Fact]
    public async Task A_batch_that_fails_every_attempt_is_parked_and_does_not_stop_the_stream()
    {
        await using var harness = new Harness(new() { ["Messaging:MaxAttempts"] = "1", ["Messaging:RetryDelayMs"] = "0" });
        var batches = DeviceRecord.Read("101", seconds: 30).Batches("dev", Harness.Epoch).ToList();
        await harness.StreamAsync(batches.Take(12));

        // The publisher (the Connector) is not told: its promise is durability, which Storage gave. The failure is parked
        // where /health/ready reports it, and the following batches are analysed.
        harness.Recorder.FailNext(1);
        await harness.PublishAsync(batches[12]);
        harness.DeadLetters.ShouldBe(2); // the beats (Recorder) and the batch (Acquisition)
        int before = harness.Recorder.Beats.Count;
        await harness.StreamAsync(batches.Skip(13));
        harness.Recorder.Beats.Count.ShouldBeGreaterThan(before);
    }

    [Fact]
    public async Task Idle_streams_are_forgotten_after_the_configured_minutes()
    {
        var clock = new ManualClock(Harness.Epoch);
        await using var harness = new Harness(new() { ["Acquisition:IdleStreamMinutes"] = "5" }, clock);
        await harness.StreamAsync(Synthetic("quiet", (_, i) => 1024 + (i % 7), 2));
        clock.Now = Harness.Epoch.AddMinutes(3);
        await harness.StreamAsync(Synthetic("busy", (_, i) => 1024 + (i % 7), 2));

        clock.Now = Harness.Epoch.AddMinutes(5.5);
        harness.Streams.EvictIdle().ShouldBe(1);
        harness.Streams.TryGet("quiet", out _).ShouldBeFalse();
        harness.Streams.TryGet("busy", out _).ShouldBeTrue();

        clock.Now = Harness.Epoch.AddMinutes(9);
        harness.Streams.EvictIdle().ShouldBe(1);
        harness.Streams.Count.ShouldBe(0);
    }

    [Fact]
    public async Task Window_length_comes_from_configuration()
    {
        await using var harness = new Harness(new() { ["Acquisition:WindowSeconds"] = "5" });
        await harness.StreamAsync(DeviceRecord.Read("101", seconds: 30).Batches("dev", Harness.Epoch));

        var windows = harness.Recorder.WindowsOf("dev");
        windows.Count.ShouldBe(5);
        windows.ShouldAllBe(w => w.End - w.Start == TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("Acquisition:WindowSeconds", "0")]
    [InlineData("Acquisition:WindowSeconds", "301")]
    [InlineData("Acquisition:IdleStreamMinutes", "0")]
    public void Invalid_options_are_rejected(string key, string value)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(config).AddLogging().AddAcquisition().BuildServiceProvider();
        Should.Throw<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AcquisitionOptions>>().Value);
    }

    [Fact]
    public async Task Beat_windows_are_cut_from_the_rhythm_lead_named_MLII_and_non_ECG_leads_are_ignored()
    {
        // Record 114 lists V5 before MLII; a respiration channel rides along.
        var record = DeviceRecord.Read("114", seconds: 30);
        var withResp = record with
        {
            Leads = [.. record.Leads, new LeadInfo("RESP", 100, 0, "Ohm")],
            Adc = [.. record.Adc, record.Adc[0].Select((_, i) => (int)(1000 * Math.Sin(i / 300.0))).ToArray()],
        };
        await using var harness = new Harness();
        await harness.StreamAsync(withResp.Batches("dev", Harness.Epoch));

        record.Leads[0].Name.ShouldBe("V5");
        var beats = harness.Recorder.BeatsOf("dev");
        beats.Count.ShouldBeGreaterThan(20);
        beats.ShouldAllBe(b => b.Lead == "MLII");
        harness.Recorder.WindowsOf("dev").ShouldAllBe(w => w.Leads.Count == 3);
    }

    [Fact]
    public void AddAcquisition_registers_the_handler_and_the_options_on_a_host_builder()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddMessaging();
        builder.AddAcquisition().ShouldBeSameAs(builder);
        using var host = builder.Build();
        host.Services.GetServices<SubscriptionDescriptor>().ShouldContain(d => d.MessageType == typeof(SamplesReceived) && d.HandlerType == typeof(SamplesReceivedHandler));
        host.Services.GetRequiredService<IOptions<AcquisitionOptions>>().Value.WindowSeconds.ShouldBe(10);
        host.Services.GetRequiredService<IOptions<AcquisitionOptions>>().Value.IdleStreamMinutes.ShouldBe(10);
    }
}
