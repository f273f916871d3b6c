using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.ServiceDefaults;

namespace HeartTwin.Sharing.Tests;

public sealed class StreamTests : IAsyncLifetime
{
    private SharingHost host = null!;

    public async Task InitializeAsync() => host = await SharingHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private static SamplesReceived Batch(string patientId, long sequence)
    {
        var (leads, samples, rate) = TestData.First10SecondsOf101;
        return new SamplesReceived("d1", patientId, sequence, FakeStorage.T0.AddSeconds(sequence), rate, leads,
            [.. samples.Select(s => s[(int)(sequence * 360)..(int)((sequence + 1) * 360)])], DateTimeOffset.UtcNow, "mqtt");
    }

    private static async Task<(HttpResponseMessage Response, IAsyncEnumerator<SseItem<string>> Events)> OpenAsync(HttpClient client, string path, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            return (response, null!);
        }

        var stream = await response.Content.ReadAsStreamAsync(ct);
        return (response, SseParser.Create(stream).EnumerateAsync(ct).GetAsyncEnumerator(ct));
    }

    private static async Task<SseItem<string>> NextAsync(IAsyncEnumerator<SseItem<string>> events)
    {
        (await events.MoveNextAsync()).ShouldBeTrue();
        return events.Current;
    }

    [Fact]
    public async Task Stream_receives_published_samples_and_analysis()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var client = host.Client();
        var (response, events) = await OpenAsync(client, "/api/twins/p1/stream", cts.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var ready = await NextAsync(events);
        ready.EventType.ShouldBe("ready");
        JsonDocument.Parse(ready.Data).RootElement.GetProperty("categories").GetArrayLength().ShouldBe(6);

        var batch = Batch("p1", 2);
        await host.Bus.PublishAsync(batch, cts.Token);
        await host.Bus.PublishAsync(Batch("p2", 2), cts.Token); // another patient: not on this stream
        var state = FakeStorage.StateOf("p1", 80);
        await host.Bus.PublishAsync(new AnalysisCompleted("p1", state, [new ClassifiedBeat(FakeStorage.T0.AddSeconds(2.2), "V", 0.93)], "d1"), cts.Token);

        // Samples reach Sharing through a queue the publisher does not wait on, analyses through one it does, so the
        // two kinds may arrive in either order; only an analysis's state before its beats is ordered.
        var received = new List<SseItem<string>>();
        for (int i = 0; i < 3; i++)
        {
            received.Add(await NextAsync(events));
        }

        received.Select(e => e.EventType).Order().ShouldBe(["beats", "samples", "state"]);
        received.FindIndex(e => e.EventType == "state").ShouldBeLessThan(received.FindIndex(e => e.EventType == "beats"));
        var samples = received.Single(e => e.EventType == "samples");
        var s = JsonDocument.Parse(samples.Data).RootElement;
        s.GetProperty("patientId").GetString().ShouldBe("p1");
        s.GetProperty("sequence").GetInt64().ShouldBe(2);
        s.GetProperty("sampleRateHz").GetDouble().ShouldBe(360);
        s.GetProperty("leads")[1].GetProperty("name").GetString().ShouldBe("V1");
        s.GetProperty("samples")[0].EnumerateArray().Select(e => e.GetInt32()).ToArray().ShouldBe(batch.Samples[0]);

        var stateEvent = received.Single(e => e.EventType == "state");
        JsonDocument.Parse(stateEvent.Data).RootElement.GetProperty("heartRateBpm").GetDouble().ShouldBe(80);
        var beats = received.Single(e => e.EventType == "beats");
        JsonDocument.Parse(beats.Data).RootElement.GetProperty("beats")[0].GetProperty("class").GetString().ShouldBe("V");
        host.Policy.Requests.ShouldAllBe(r => r.Purpose == "stream" && r.PatientId == "p1");
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Stream_leaves_out_the_categories_the_policy_denies()
    {
        host.Policy.Allow = r => r.Category != "ecg";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var client = host.Client();
        var (_, events) = await OpenAsync(client, "/api/twins/p1/stream", cts.Token);
        var ready = JsonDocument.Parse((await NextAsync(events)).Data).RootElement;
        ready.GetProperty("withheld").TryGetProperty("ecg", out _).ShouldBeTrue();
        await host.Bus.PublishAsync(Batch("p1", 1), cts.Token);
        await host.Bus.PublishAsync(new VitalsReceived("d1", "p1", 9, [new VitalObservation(VitalCodes.SpO2, 96, "%", FakeStorage.T0)], DateTimeOffset.UtcNow), cts.Token);
        // The samples never arrive: the next event is the vitals.
        (await NextAsync(events)).EventType.ShouldBe("vitals");
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Stream_of_another_patient_is_403_and_fully_denied_is_403()
    {
        using var other = host.Client(host.Token("clinic-a", [Scopes.PatientRead], "p2"));
        var (response, _) = await OpenAsync(other, "/api/twins/p1/stream", CancellationToken.None);
        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        host.Policy.Allow = _ => false;
        using var admin = host.Client();
        (response, _) = await OpenAsync(admin, "/api/twins/p1/stream", CancellationToken.None);
        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("no consent");

        (response, _) = await OpenAsync(admin, "/api/twins/p1/stream?categories=ecg,gossip", CancellationToken.None);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_slow_client_drops_its_oldest_events_and_is_told_it_lagged()
    {
        // The kernel's socket buffers would hide a slow reader over loopback, so the client's buffer is exercised directly.
        var hub = new Streaming.LiveHub();
        var client = hub.Register("p1", new HashSet<string> { "ecg" }, capacity: 4);
        for (int i = 0; i < 10; i++)
        {
            hub.Publish("p1", ShareEvents.Samples, $$"""{"n":{{i}}}""");
        }

        hub.Publish("p1", ShareEvents.Vitals, "{}"); // a category this client may not receive
        client.Complete();
        var seen = new List<SseItem<string>>();
        await foreach (var item in client.ReadAllAsync(CancellationToken.None))
        {
            seen.Add(item);
        }

        seen[0].EventType.ShouldBe("lag");
        JsonDocument.Parse(seen[0].Data).RootElement.GetProperty("dropped").GetInt64().ShouldBe(6);
        seen.Skip(1).Select(e => e.Data).ShouldBe(["""{"n":6}""", """{"n":7}""", """{"n":8}""", """{"n":9}"""]);
        hub.Unregister(client);
        hub.ClientCount.ShouldBe(0);
    }
}
