using System.Text;
using System.Text.Json;
using HeartTwin.Cli.Load;
using HeartTwin.Signals.Tests.Cli;

namespace HeartTwin.Signals.Tests.Simulation;

public class LoadPartsTests
{
    [Fact]
    public void Histogram_percentiles_are_within_two_percent_of_the_exact_ones()
    {
        var histogram = new LatencyHistogram();
        var values = Enumerable.Range(1, 10_000).Select(i => TimeSpan.FromMicroseconds(i * 37)).ToList();
        foreach (var v in values.OrderBy(v => (v.Ticks * 7919) % 10_007))
        {
            histogram.Record(v);
        }

        histogram.Count.ShouldBe(10_000);
        histogram.Max.ShouldBe(values[^1]);
        foreach (var p in new[] { 50.0, 90, 99, 99.9 })
        {
            var exact = values[(int)Math.Ceiling(p / 100 * values.Count) - 1].TotalMicroseconds;
            histogram.Percentile(p)!.Value.TotalMicroseconds.ShouldBe(exact, exact * 0.02);
        }
    }

    [Fact]
    public void Histogram_is_exact_for_small_values_and_empty_gives_no_percentile()
    {
        var histogram = new LatencyHistogram();
        histogram.Percentile(99).ShouldBeNull();
        histogram.Record(TimeSpan.FromMicroseconds(5));
        histogram.Record(TimeSpan.FromMicroseconds(100));
        histogram.Percentile(50).ShouldBe(TimeSpan.FromMicroseconds(5));
        histogram.Percentile(100).ShouldBe(TimeSpan.FromMicroseconds(100));
        LatencyHistogram.Index(long.MaxValue).ShouldBeLessThan(128 + (40 * 64));
    }

    [Fact]
    public void Timer_wheel_makes_each_item_due_once_per_period_spread_over_the_slots()
    {
        var wheel = new TimerWheel<int>(TimeSpan.FromSeconds(1), 4);
        for (int i = 0; i < 8; i++)
        {
            wheel.Add(i, i);
        }

        // The first period acquires the first batch: nothing is due yet.
        wheel.Advance(TimeSpan.FromSeconds(0.99)).ShouldBeEmpty();
        var due = wheel.Advance(TimeSpan.FromSeconds(1.3));
        due.Select(d => d.Item).ShouldBe([0, 4, 1, 5]);
        due.Select(d => d.Due).Distinct().ShouldBe([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.25)]);

        // A late timer catches up on every tick it missed, and nothing is due twice.
        var late = wheel.Advance(TimeSpan.FromSeconds(3.1));
        late.Count.ShouldBe(4 + 8 + 2); // ticks 1.5 s … 3.0 s: slots 2–3, two whole turns less the first two slots, and slot 0 again
        late.GroupBy(d => d.Item).ShouldAllBe(g => g.Count() <= 2);
        wheel.Advance(TimeSpan.FromSeconds(3.1)).ShouldBeEmpty();
    }

    [Fact]
    public void Stored_samples_are_counted_across_segments_and_leads()
    {
        using var segments = JsonDocument.Parse("""{"segments":[{"deviceId":"d","samples":[[1,2,3],[4,5,6]]},{"samples":[[7],[8]]}]}""");
        TwinAdminClient.CountSamples(segments.RootElement).ShouldBe(8);
        using var flat = JsonDocument.Parse("""{"leads":[{"name":"MLII"}],"samples":[[1,2,3,4]]}""");
        TwinAdminClient.CountSamples(flat.RootElement).ShouldBe(4);
        using var none = JsonDocument.Parse("""{"segments":[]}""");
        TwinAdminClient.CountSamples(none.RootElement).ShouldBe(0);
    }

    [Fact]
    public async Task Sse_events_are_read_and_alert_latency_is_decided_minus_source_received()
    {
        const string stream = "event: state\ndata: {\"x\":1}\n\n: comment\nevent: action\ndata: {\"decidedAt\":\"2026-01-01T00:00:01.250Z\",\n"
            + "data: \"proposal\":{\"sourceReceivedAt\":\"2026-01-01T00:00:00Z\"}}\n\n";
        var events = new List<(string Event, string Data)>();
        await foreach (var e in SseReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(stream)), CancellationToken.None))
        {
            events.Add(e);
        }

        events.Select(e => e.Event).ShouldBe(["state", "action"]);
        SseReader.TryAlertLatency(events[1].Data, out var latency).ShouldBeTrue();
        latency.ShouldBe(TimeSpan.FromMilliseconds(1250));
        SseReader.TryAlertLatency(events[0].Data, out _).ShouldBeFalse();
        SseReader.TryAlertLatency("not json", out _).ShouldBeFalse();
    }

    [Fact]
    public void Report_prints_one_json_object_and_exits_0_only_when_nothing_was_lost()
    {
        var report = new LoadReport { Patients = 3, SamplesAcknowledged = 2160, SamplesStored = 2160, SamplesLost = 0, StoredP99Ms = 4.5 };
        report.ExitCode.ShouldBe(0);
        (report with { SamplesLost = 1 }).ExitCode.ShouldBe(1);
        (report with { SamplesAcknowledged = 0, SamplesStored = 0 }).ExitCode.ShouldBe(1);
        (report with { SamplesStored = null, SamplesLost = null }).ExitCode.ShouldBe(1);
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(report, LoadReport.Json));
        doc.RootElement.GetProperty("samples_lost").GetInt64().ShouldBe(0);
        doc.RootElement.GetProperty("stored_p99_ms").GetDouble().ShouldBe(4.5);
        doc.RootElement.GetProperty("patients_in_real_time").GetInt32().ShouldBe(0);
        using var table = new StringWriter();
        report.WriteTable(table);
        table.ToString().ShouldContain("Samples lost              0");
        table.ToString().ShouldContain("p99 4.5 ms");
    }

    [Theory]
    [InlineData("--patients", "0", "--patients must be")]
    [InlineData("--rate", "250", "not the --rate 250 Hz")]
    [InlineData("--mqtt", "nohost", "not HOST:PORT")]
    [InlineData("--records", "nope", "Record 'nope' not found")]
    public void Load_bad_arguments_give_a_clear_error_and_exit_code_2(string option, string value, string message)
    {
        var args = new List<string> { "load", "--patients", "2", "--admin-token", "t", "--db", TestData.MitDb, "--records", "101" };
        int at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, _, stderr) = CliRunner.Run([.. args]);
        code.ShouldBe(2);
        stderr.ShouldContain(message);
    }
}
