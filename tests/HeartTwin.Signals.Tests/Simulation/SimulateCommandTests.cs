using System.Diagnostics;
using HeartTwin.Cli.Simulation;
using HeartTwin.Simulation;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using HeartTwin.Signals.Tests.Cli;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Simulation;

public class SimulateCommandTests
{
    private static readonly WfdbRecord Record101 = WfdbRecord.Read(TestData.MitDb, "101");

    private static string[] Args(string transport, string endpoint, params string[] more) =>
        ["simulate", "--db", TestData.MitDb, "--record", "101", "--device", "dev-1", "--token", "secret", transport, endpoint, .. more];

    /// <summary>Puts the stored batches back together in sequence order and checks they are the record's samples, bit for bit.</summary>
    private static void ShouldBeTheRecord(List<BinarySampleBatch.Batch> batches, long firstSequence, int samplesPerLead, DateTimeOffset notBefore)
    {
        batches.Select(b => b.Sequence).ShouldBe(Enumerable.Range(0, batches.Count).Select(i => firstSequence + i));
        for (int lead = 0; lead < 2; lead++)
        {
            var sent = batches.SelectMany(b => b.Samples[lead]).ToArray();
            sent.Length.ShouldBe(samplesPerLead);
            sent.ShouldBe(Record101.Adc(lead)[..samplesPerLead].ToArray());
        }

        var spec = Record101.Header.Signals;
        batches[0].Leads.Select(l => l.Name).ShouldBe(["MLII", "V1"]);
        batches[0].Leads[0].Gain.ShouldBe(spec[0].AdcGain);
        batches[0].Leads[0].Baseline.ShouldBe(spec[0].Baseline);
        batches[0].SampleRateHz.ShouldBe(360);
        batches[0].StartTime.ShouldBeGreaterThanOrEqualTo(notBefore.AddMilliseconds(-1));
        for (int i = 1; i < batches.Count; i++)
        {
            // Start times advance with the samples: each batch starts where the previous one ended.
            var expected = batches[i - 1].StartTime + TimeSpan.FromSeconds(batches[i - 1].Samples[0].Length / 360.0);
            (batches[i].StartTime - expected).Duration().ShouldBeLessThan(TimeSpan.FromMilliseconds(0.01));
        }
    }

    [Fact]
    public async Task Mqtt_stream_carries_the_record_bit_for_bit_with_strictly_increasing_sequences()
    {
        await using var twin = await MqttTwinDouble.StartAsync();
        var started = DateTimeOffset.UtcNow;
        var (code, stdout, stderr) = CliRunner.Run(Args("--mqtt", $"127.0.0.1:{twin.Port}", "--speed", "0", "--duration", "12.5", "--start-sequence", "7"));
        code.ShouldBe(0, stderr);
        var batches = twin.Received.Select(r => r.Batch).ToList();
        ShouldBeTheRecord(batches, 7, 4500, started);
        batches.Count.ShouldBe(13);
        stdout.ShouldContain("batches sent 13, acked 13, duplicates 0, retries 0");
        stdout.ShouldContain("next sequence 20");
    }

    [Fact]
    public async Task Http_binary_stream_carries_the_record_bit_for_bit()
    {
        await using var twin = await HttpTwinDouble.StartAsync();
        var started = DateTimeOffset.UtcNow;
        var (code, stdout, stderr) = CliRunner.Run(Args("--http", twin.Url, "--speed", "0", "--duration", "5", "--binary", "--batch-ms", "250"));
        code.ShouldBe(0, stderr);
        twin.ContentTypes.ShouldAllBe(c => c == BinarySampleBatch.ContentType);
        ShouldBeTheRecord(twin.Received.Select(r => r.Batch).ToList(), 0, 1800, started);
        stdout.ShouldContain("batches sent 20, acked 20");
    }

    [Fact]
    public async Task Batches_leave_at_the_pace_of_the_signal_divided_by_the_speed()
    {
        await using var twin = await HttpTwinDouble.StartAsync();
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        // 4 s of signal at 2x: batches of 0.5 s leave every 0.25 s, the last after about 2 s.
        var (code, _, stderr) = CliRunner.Run(Args("--http", twin.Url, "--speed", "2", "--duration", "4", "--batch-ms", "500"));
        code.ShouldBe(0, stderr);
        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(1.9));
        var arrivals = twin.Received.Select(r => r.ArrivedAt).ToList();
        arrivals.Count.ShouldBe(8);

        // Pacing means no batch leaves before its time: batch i not before i × 0.25 s after the run began (its samples
        // exist by then at 2x). That bound is one-sided on purpose. Pacing keeps to the signal's clock, so a machine that
        // stalls makes batches late and they catch up, as they should; CI has seen the whole span at 0.83 s and the last
        // three batches 0.17 s apart for their nominal 1.75 s and 0.75 s. A simulator that bursts breaks the bound at once
        // (with --speed 0, batch 5 already leaves before its time).
        for (var i = 0; i < arrivals.Count; i++)
        {
            (arrivals[i] - started).ShouldBeGreaterThan(TimeSpan.FromSeconds((0.25 * i) - 0.05), $"batch {i} left before its time");
        }
    }

    [Fact]
    public async Task A_dropped_connection_is_reconnected_and_the_unacknowledged_batch_is_sent_again_with_its_sequence()
    {
        await using var twin = await MqttTwinDouble.StartAsync();
        twin.DropBeforeAck(3);
        var (code, stdout, stderr) = CliRunner.Run(Args("--mqtt", $"127.0.0.1:{twin.Port}", "--speed", "0", "--duration", "8"));
        code.ShouldBe(0, stderr);
        twin.Received.Count(r => r.Batch.Sequence == 3).ShouldBe(2);
        twin.Connections.ShouldBeGreaterThanOrEqualTo(2);
        var stored = twin.Stored.Values.OrderBy(r => r.Batch.Sequence).Select(r => r.Batch).ToList();
        ShouldBeTheRecord(stored, 0, 2880, DateTimeOffset.UnixEpoch);
        stdout.ShouldContain("reconnected");
        stdout.ShouldContain("batches sent 8, acked 8, duplicates 0, retries 1");
    }

    [Fact]
    public async Task Commands_over_mqtt_are_printed_and_acknowledged_as_accepted()
    {
        await using var twin = await MqttTwinDouble.StartAsync();
        // The device streams for up to 60 s of real time and is stopped once both acknowledgements are in: a short fixed run
        // raced the commands on a loaded CI machine (the run had ended before the first stored batch was seen).
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => CliRunner.RunAsync(stop.Token, Args("--mqtt", $"127.0.0.1:{twin.Port}", "--speed", "1", "--duration", "60")));
        await WaitUntil(() => !twin.Stored.IsEmpty);
        await twin.SendCommandAsync(new CommandDto("c-1", DeviceCommands.RaiseAlarm, new Dictionary<string, string> { ["level"] = "2" }, DateTimeOffset.UtcNow));
        await twin.SendCommandAsync(new CommandDto("c-2", DeviceCommands.SetSampleRate, new Dictionary<string, string> { ["sampleRateHz"] = "250" }, DateTimeOffset.UtcNow));
        await WaitUntil(() => twin.Acks.Count >= 2);
        await stop.CancelAsync();
        var (code, stdout, stderr) = await run;
        code.ShouldBe(0, stderr);
        var acks = twin.Acks.ToList();
        acks.Select(a => a.CommandId).ShouldBe(["c-1", "c-2"]);
        acks.ShouldAllBe(a => a.Status == "accepted");
        acks[1].Detail.ShouldNotBeNull().ShouldContain("not supported");
        stdout.ShouldContain("command c-1 raise-alarm(level=2)");
        stdout.ShouldContain("commands 2");
        stdout.ShouldContain("(stopped)");
    }

    [Fact]
    public async Task Commands_over_http_are_pulled_and_acknowledged()
    {
        await using var twin = await HttpTwinDouble.StartAsync();
        twin.PendingCommands.Enqueue(new CommandDto("h-1", DeviceCommands.Capture12Lead, new Dictionary<string, string> { ["durationSeconds"] = "10" }, DateTimeOffset.UtcNow));
        // 4 s of streaming: the first poll comes at once, but a loaded CI machine has been seen to need seconds for it.
        var (code, stdout, stderr) = CliRunner.Run(Args("--http", twin.Url, "--speed", "2", "--duration", "8"));
        code.ShouldBe(0, stderr);
        await WaitUntil(() => !twin.Acks.IsEmpty);
        twin.Acks.Single().ShouldSatisfyAllConditions(a => a.CommandId.ShouldBe("h-1"), a => a.Status.ShouldBe("accepted"));
        stdout.ShouldContain("commands 1");
    }

    [Fact]
    public async Task Http_503_with_retry_after_is_retried_with_the_same_sequence()
    {
        await using var twin = await HttpTwinDouble.StartAsync();
        twin.RespondUnavailable(2);
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = CliRunner.Run(Args("--http", twin.Url, "--speed", "0", "--duration", "3"));
        code.ShouldBe(0, stderr);
        clock.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(1.9));
        twin.Stored.Keys.Order().ShouldBe([0L, 1L, 2L]);
        stdout.ShouldContain("503");
        stdout.ShouldContain("batches sent 3, acked 3, duplicates 0, retries 2");
    }

    [Fact]
    public async Task A_wrong_http_token_ends_with_the_servers_reason_and_exit_code_1()
    {
        await using var twin = await HttpTwinDouble.StartAsync(token: "right");
        var (code, _, stderr) = CliRunner.Run(Args("--http", twin.Url, "--speed", "0", "--duration", "3"));
        code.ShouldBe(SimulateCommand.Refused);
        stderr.ShouldContain("401");
        stderr.ShouldContain("The device token is not valid for this device.");
        twin.Stored.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_wrong_mqtt_password_ends_with_a_clear_message_and_exit_code_1()
    {
        await using var twin = await MqttTwinDouble.StartAsync(token: "right");
        var (code, _, stderr) = CliRunner.Run(Args("--mqtt", $"127.0.0.1:{twin.Port}", "--speed", "0", "--duration", "3"));
        code.ShouldBe(SimulateCommand.Refused);
        stderr.ShouldContain("refused device 'dev-1'");
    }

    [Theory]
    [InlineData("--record", "nope", "Record 'nope' not found")]
    [InlineData("--both", "", "exactly one of --mqtt")]
    [InlineData("--neither", "", "exactly one of --mqtt")]
    [InlineData("--mqtt", "localhost", "not HOST:PORT")]
    [InlineData("--http", "ftp://x", "not an http:// or https:// URL")]
    [InlineData("--speed", "-1", "--speed must be")]
    public void Bad_arguments_give_a_clear_error_and_exit_code_2(string option, string value, string message)
    {
        var args = option switch
        {
            "--record" => ["simulate", "--db", TestData.MitDb, "--record", value, "--device", "d", "--token", "t", "--mqtt", "127.0.0.1:1"],
            "--both" => ["simulate", "--db", TestData.MitDb, "--record", "101", "--device", "d", "--token", "t", "--mqtt", "127.0.0.1:1", "--http", "http://127.0.0.1:1"],
            "--neither" => ["simulate", "--db", TestData.MitDb, "--record", "101", "--device", "d", "--token", "t"],
            "--speed" => ["simulate", "--db", TestData.MitDb, "--record", "101", "--device", "d", "--token", "t", "--mqtt", "127.0.0.1:1", "--speed", value],
            _ => new[] { "simulate", "--db", TestData.MitDb, "--record", "101", "--device", "d", "--token", "t", option, value },
        };
        var (code, _, stderr) = CliRunner.Run(args);
        code.ShouldBe(2);
        stderr.ShouldContain(message);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            deadline.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "the condition never held");
            await Task.Delay(20);
        }
    }
}
