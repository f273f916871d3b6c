using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Signals.Wfdb;
using HeartTwin.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HeartTwin.IntegrationTests;

/// <summary>The issue's end-to-end checks against one real embedded twin (every block, SQLite, embedded MQTT), on loopback.</summary>
[Trait("Issue", "4")]
public sealed class TwinEndToEndTests(TwinFixture twin) : IClassFixture<TwinFixture>
{
    private static readonly string[] ResearchScopes = ["patient/*.rs", "patient/*.cud"];
    private static readonly string[] ShareCategories = ["ecg", "events"];

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await twin.Admin.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<int[][]> StoredSamplesAsync(string patient, DateTimeOffset from, DateTimeOffset to, int leads)
    {
        var json = await GetJsonAsync($"/api/twins/{patient}/ecg?from={Iso(from)}&to={Iso(to)}");
        var perLead = Enumerable.Range(0, leads).Select(_ => new List<int>()).ToArray();
        var sequences = new List<long>();
        foreach (var segment in json.GetProperty("segments").EnumerateArray())
        {
            sequences.Add(segment.GetProperty("sequence").GetInt64());
            int lead = 0;
            foreach (var values in segment.GetProperty("samples").EnumerateArray())
            {
                perLead[lead++].AddRange(values.EnumerateArray().Select(v => v.GetInt32()));
            }
        }

        sequences.ShouldBe(sequences.Distinct().Order().ToList(), "each batch stored once, in order");
        return perLead.Select(l => l.ToArray()).ToArray();
    }

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
    }

    [Theory]
    [InlineData("101", true)]
    [InlineData("119", false)]
    public async Task Samples_streamed_over_MQTT_and_HTTP_are_stored_bit_for_bit(string recordName, bool mqtt)
    {
        string patient = $"e2e-{recordName}-{(mqtt ? "mqtt" : "http")}";
        var creds = await twin.RegisterAsync(patient + "-dev", patient);
        var record = Devices.Record(recordName);
        var (stats, start) = await Devices.StreamAsync(twin, creds, record, mqtt, TimeSpan.FromSeconds(60));

        stats.BatchesAcked.ShouldBe(stats.BatchesSent);
        int n = (int)(60 * record.SampleRateHz);
        // The binary form carries start times in whole microseconds, so ask from a little before the start.
        var stored = await StoredSamplesAsync(patient, start.AddSeconds(-1), start.AddSeconds(61), record.Leads.Count);
        for (int lead = 0; lead < record.Leads.Count; lead++)
        {
            stored[lead].Length.ShouldBe(n);
            stored[lead].ShouldBe(record.Samples[lead].AsSpan(0, n).ToArray(), $"lead {lead} differs");
        }
    }

    [Fact]
    public async Task The_twins_heart_rate_matches_the_reference_annotations_within_2_bpm()
    {
        const string patient = "e2e-hr-101";
        var creds = await twin.RegisterAsync("e2e-hr-101-dev", patient);
        var record = Devices.Record("101");
        var (_, start) = await Devices.StreamAsync(twin, creds, record, mqtt: true, TimeSpan.FromSeconds(120));
        var end = start.AddSeconds(120);

        var state = await WaitForAsync(async () =>
        {
            var s = await GetJsonAsync($"/api/twins/{patient}");
            var st = s.TryGetProperty("state", out var inner) ? inner : s;
            return st.ValueKind == JsonValueKind.Object && st.TryGetProperty("signalTime", out var t) && t.ValueKind == JsonValueKind.String
                && t.GetDateTimeOffset() >= end.AddSeconds(-3) && st.GetProperty("heartRateBpm").ValueKind == JsonValueKind.Number ? st : null;
        }, TimeSpan.FromSeconds(30), "the twin's state to cover the streamed signal");

        var signalTime = state.GetProperty("signalTime").GetDateTimeOffset();
        double twinHr = state.GetProperty("heartRateBpm").GetDouble();

        // Reference: mean rate of the annotated beats over the 10 s before the state's signal time (the Agent's averaging span).
        var beats = AnnotationFile.Read(TestData.MitDb, "101", "atr").Where(a => a.IsBeat)
            .Select(a => start.AddSeconds(a.Sample / record.SampleRateHz)).Where(t => t <= signalTime && t > signalTime.AddSeconds(-10)).ToList();
        double meanRr = (beats[^1] - beats[0]).TotalSeconds / (beats.Count - 1);
        double referenceHr = 60 / meanRr;
        var twinBeats = (await GetJsonAsync($"/api/twins/{patient}/beats?from={Iso(signalTime.AddSeconds(-10))}&to={Iso(signalTime)}"));
        Math.Abs(twinHr - referenceHr).ShouldBeLessThan(2.0, $"twin {twinHr:0.0} bpm, reference {referenceHr:0.0} bpm over {beats.Count} beats; signal {signalTime:O}, start {start:O}; twin beats {twinBeats}");
        state.GetProperty("modelId").GetString().ShouldStartWith("beat-cnn@");
    }

    [Fact]
    public async Task A_record_with_a_ventricular_run_raises_the_event_and_the_policy_decides_it()
    {
        const string patient = "e2e-vrun-203";
        var creds = await twin.RegisterAsync("e2e-vrun-203-dev", patient);
        var record = Devices.Record("203");

        // The first run of three or more ventricular beats in the reference annotations.
        var beats = AnnotationFile.Read(TestData.MitDb, "203", "atr").Where(a => a.IsBeat).ToList();
        long runAt = -1;
        for (int i = 2; i < beats.Count && runAt < 0; i++)
        {
            if (beats.Skip(i - 2).Take(3).All(b => b.Mnemonic is "V" or "E"))
            {
                runAt = beats[i].Sample;
            }
        }

        runAt.ShouldBeGreaterThan(0);
        var duration = TimeSpan.FromSeconds(runAt / record.SampleRateHz + 20);
        var (_, start) = await Devices.StreamAsync(twin, creds, record, mqtt: true, duration);

        var run = await WaitForAsync(async () =>
        {
            var events = await GetJsonAsync($"/api/twins/{patient}/events?from={Iso(start.AddMinutes(-1))}&to={Iso(start + duration + TimeSpan.FromMinutes(1))}");
            return events.GetProperty("items").EnumerateArray()
                .FirstOrDefault(e => e.GetProperty("proposal").GetProperty("eventType").GetString() == EventTypes.VentricularRun
                    && e.TryGetProperty("decision", out var d) && d.ValueKind == JsonValueKind.Object) is { ValueKind: JsonValueKind.Object } found ? found : null;
        }, TimeSpan.FromSeconds(30), "a ventricular-run event with its decision");

        run.GetProperty("decision").GetProperty("rule").GetString().ShouldNotBeNullOrEmpty();
        var decisions = await GetJsonAsync("/api/policy/decisions?limit=1000");
        decisions.ToString().ShouldContain(run.GetProperty("proposal").GetProperty("actionId").GetString()!);
    }

    [Fact]
    public async Task A_command_reaches_the_simulated_device_and_is_acknowledged()
    {
        const string patient = "e2e-cmd";
        var creds = await twin.RegisterAsync("e2e-cmd-dev", patient);
        var record = Devices.Record("101");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var options = new DeviceSimulatorOptions { DeviceId = creds.DeviceId, Speed = 1, Loop = true };
        await using var simulator = new DeviceSimulator(record, Devices.Transport(twin, creds, mqtt: true), options);
        var streaming = simulator.RunAsync(null, cts.Token);
        await WaitForAsync(async () => { await Task.Yield(); return simulator.Snapshot().BatchesAcked > 0 ? default(JsonElement) : null; }, TimeSpan.FromSeconds(15), "the device to connect");

        using var response = await twin.Admin.PostAsJsonAsync($"/api/twins/{patient}/commands", new
        {
            deviceId = creds.DeviceId,
            command = DeviceCommands.RaiseAlarm,
            parameters = new Dictionary<string, object> { ["level"] = 2, ["message"] = "integration test" },
            reason = "test",
        });
        string body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, body);
        string commandId = JsonDocument.Parse(body).RootElement.GetProperty("commandId").GetString()!;

        var status = await WaitForAsync(async () =>
        {
            var c = await GetJsonAsync($"/api/commands/{commandId}");
            return c.GetProperty("status").GetString() == "acknowledged" ? c : null;
        }, TimeSpan.FromSeconds(30), "the command's acknowledgement");
        status.GetProperty("deviceId").GetString().ShouldBe(creds.DeviceId);
        simulator.Snapshot().Commands.ShouldBeGreaterThan(0);
        await cts.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => streaming).ContinueWith(_ => { });
    }

    [Fact]
    public async Task A_share_the_policy_denies_is_audited_and_never_delivered()
    {
        const string patient = "e2e-share";
        var creds = await twin.RegisterAsync("e2e-share-dev", patient);

        // The other twin's inbox: counts what it receives.
        int received = 0;
        int inboxPort = TestData.FreePort();
        var inbox = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        inbox.WebHost.UseUrls($"http://127.0.0.1:{inboxPort}");
        inbox.Logging.ClearProviders();
        await using var other = inbox.Build();
        other.MapPost("/api/inbox", () => { Interlocked.Increment(ref received); return Results.Ok(); });
        await other.StartAsync();

        // A research group's token may read this patient, but the default policy grants patient-scoped readers no webhooks.
        using var tokenResponse = await twin.Admin.PostAsJsonAsync("/api/tokens", new { subject = "research-twin", scopes = ResearchScopes, patients = new[] { patient }, lifetimeHours = 1 });
        tokenResponse.StatusCode.ShouldBe(HttpStatusCode.Created, await tokenResponse.Content.ReadAsStringAsync());
        string token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using var research = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        research.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var sub = await research.PostAsJsonAsync("/api/subscriptions", new
        {
            recipientId = "research-twin",
            callbackUrl = $"http://127.0.0.1:{inboxPort}/api/inbox",
            patients = new[] { patient },
            categories = ShareCategories,
        });
        sub.StatusCode.ShouldBe(HttpStatusCode.Created, await sub.Content.ReadAsStringAsync());

        await Devices.StreamAsync(twin, creds, Devices.Record("101"), mqtt: false, TimeSpan.FromSeconds(10));

        var denied = await WaitForAsync(async () =>
        {
            var decisions = await GetJsonAsync("/api/policy/decisions?limit=1000");
            return decisions.ToString().Contains("research-twin", StringComparison.Ordinal) ? decisions : null;
        }, TimeSpan.FromSeconds(20), "the denied share in the audit trail");
        var entry = FindAuditEntries(denied).First(e => e.GetProperty("actor").GetString() == "research-twin");
        entry.GetProperty("allowed").GetBoolean().ShouldBeFalse();
        entry.GetProperty("category").GetString().ShouldBe("share");

        await Task.Delay(3000); // give the webhook worker time to (wrongly) deliver
        received.ShouldBe(0);
        var verify = await GetJsonAsync("/api/audit/verify");
        verify.ToString().ShouldContain("true");
    }

    private static IEnumerable<JsonElement> FindAuditEntries(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in root.EnumerateArray())
            {
                yield return e;
            }
        }
        else
        {
            foreach (var p in root.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
            {
                foreach (var e in p.Value.EnumerateArray())
                {
                    yield return e;
                }
            }
        }
    }
}
