using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing.Webhooks;

namespace HeartTwin.Sharing.Tests;

/// <summary>Twin A subscribes twin B's inbox (a second real Kestrel) to its patient p1.</summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string Secret = "shared-webhook-secret";
    private SharingHost a = null!;
    private SharingHost b = null!;

    public async Task InitializeAsync()
    {
        a = await SharingHost.StartAsync();
        b = await SharingHost.StartAsync(new() { ["Sharing:InboxSecret"] = Secret });
    }

    public async Task DisposeAsync()
    {
        await a.DisposeAsync();
        await b.DisposeAsync();
    }

    private static ActionDecided Decided(string actionId) => new(
        FakeStorage.Actions[0].Proposal with { ActionId = actionId }, true, "alerts", "alerts are raised", FakeStorage.T0.AddSeconds(6), "v1");

    private async Task<string> SubscribeAsync(params string[] categories)
    {
        using var admin = a.Client();
        var response = await admin.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest(
            "twin-b", new Uri(b.BaseAddress, "/api/inbox").ToString(), ["p1"], categories, Secret, b.Token("twin-a", [Scopes.SystemWrite])));
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> WaitForDeliveriesAsync(string subscriptionId, string status, long count)
    {
        using var admin = a.Client();
        for (int i = 0; i < 200; i++)
        {
            var view = JsonDocument.Parse(await admin.GetStringAsync($"/api/subscriptions/{subscriptionId}")).RootElement;
            if (view.GetProperty("deliveries").TryGetProperty(status, out var n) && n.GetInt64() >= count)
            {
                return view;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No {count} '{status}' deliveries.");
    }

    [Fact]
    public async Task An_allowed_event_reaches_the_other_twins_inbox_signed_and_once()
    {
        string id = await SubscribeAsync("events");
        var decided = Decided("a-77");
        await a.Bus.PublishAsync(decided);
        await a.Bus.PublishAsync(decided); // redelivery on the bus: still one delivery
        await a.Bus.PublishAsync(Decided("other") with { Proposal = decided.Proposal with { ActionId = "x", PatientId = "p2" } }); // another patient
        await WaitForDeliveriesAsync(id, "delivered", 1);

        using var bAdmin = b.Client();
        var inbox = JsonDocument.Parse(await bAdmin.GetStringAsync("/api/inbox")).RootElement;
        var entry = inbox.EnumerateArray().Single();
        entry.GetProperty("sender").GetString().ShouldBe("twin-a");
        entry.GetProperty("patientId").GetString().ShouldBe("p1");
        entry.GetProperty("event").GetString().ShouldBe("action");
        entry.GetProperty("signatureVerified").GetBoolean().ShouldBeTrue();
        entry.GetProperty("envelope").GetProperty("data").GetProperty("proposal").GetProperty("actionId").GetString().ShouldBe("a-77");
        a.Policy.Requests.ShouldContain(r => r.Purpose == "webhook" && r.Recipient == "twin-b" && r.Category == "events" && r.PatientId == "p1");
    }

    [Fact]
    public async Task A_share_the_policy_denies_is_never_sent()
    {
        a.Policy.Allow = r => r.Purpose != "webhook";
        string id = await SubscribeAsync("events", "ecg");
        await a.Bus.PublishAsync(Decided("a-1"));
        await WaitForDeliveriesAsync(id, "denied", 1);
        await Task.Delay(300);

        using var bAdmin = b.Client();
        JsonDocument.Parse(await bAdmin.GetStringAsync("/api/inbox")).RootElement.GetArrayLength().ShouldBe(0);
        a.Policy.Requests.ShouldContain(r => r.Purpose == "webhook" && r.Recipient == "twin-b");
    }

    [Fact]
    public async Task A_failing_callback_is_retried_until_it_answers()
    {
        // The callback first points at a port nobody listens on, then the inbox comes up there.
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var admin = a.Client();
        var created = await admin.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest(
            "twin-c", $"http://127.0.0.1:{port}/api/inbox", ["*"], ["events"], null, SharingHost.AdminToken));
        string id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        await a.Bus.PublishAsync(Decided("a-9"));
        var view = JsonDocument.Parse(await admin.GetStringAsync($"/api/subscriptions/{id}")).RootElement;
        for (int i = 0; i < 100 && !view.GetProperty("deliveries").TryGetProperty("pending", out _); i++)
        {
            await Task.Delay(20);
            view = JsonDocument.Parse(await admin.GetStringAsync($"/api/subscriptions/{id}")).RootElement;
        }

        await Task.Delay(300); // a few attempts fail
        await using var c = await StartOnPortAsync(port);
        await WaitForDeliveriesAsync(id, "delivered", 1);
        using var cAdmin = c.Client();
        JsonDocument.Parse(await cAdmin.GetStringAsync("/api/inbox")).RootElement.GetArrayLength().ShouldBe(1);
    }

    private static Task<SharingHost> StartOnPortAsync(int port) => SharingHost.StartAsync(url: $"http://127.0.0.1:{port}");

    [Fact]
    public async Task Subscriptions_are_validated_owned_and_deletable()
    {
        using var admin = a.Client();
        var bad = await admin.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest("r", "ftp://x/y", ["p1"], ["gossip"], null, null));
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var detail = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
        detail.ShouldContain("callbackUrl");
        detail.ShouldContain("categories");

        using var writer = a.Client(a.Token("clinic", [Scopes.PatientWrite], "p1"));
        (await writer.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest("r", "http://127.0.0.1:1/x", ["*"], ["ecg"], null, null)))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await writer.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest("r", "http://127.0.0.1:1/x", ["p2"], ["ecg"], null, null)))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var mine = await writer.PostAsJsonAsync("/api/subscriptions", new CreateSubscriptionRequest("r", "http://127.0.0.1:1/x", ["p1"], ["ecg"], "s", null));
        mine.StatusCode.ShouldBe(HttpStatusCode.Created);
        mine.Headers.Location.ShouldNotBeNull();
        string body = await mine.Content.ReadAsStringAsync();
        body.ShouldNotContain("\"secret\"");
        string id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;

        using var stranger = a.Client(a.Token("stranger", [Scopes.PatientWrite], "p1"));
        (await stranger.GetAsync($"/api/subscriptions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.DeleteAsync($"/api/subscriptions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await writer.DeleteAsync($"/api/subscriptions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await writer.GetAsync($"/api/subscriptions/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Subscriptions_survive_a_restart()
    {
        string id = await SubscribeAsync("ecg");
        string dir = a.DataDirectory;
        a.KeepData = true;
        await a.DisposeAsync();
        a = await SharingHost.StartAsync(dataDir: dir);
        using var admin = a.Client();
        (await admin.GetAsync($"/api/subscriptions/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("{not json", HttpStatusCode.BadRequest)]
    [InlineData("[1,2]", HttpStatusCode.BadRequest)]
    [InlineData("""{"id":"x","patientId":"p1","category":"ecg","event":"state","data":{}}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"id":"","patientId":"p1","category":"ecg","event":"samples","data":{}}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"id":"x","patientId":"p1","category":"ecg","event":"samples","data":3}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"id":"x","patientId":"p1","category":"ecg","event":"samples","data":{}}""", HttpStatusCode.Accepted)]
    public async Task Inbox_validates_the_envelope(string json, HttpStatusCode expected)
    {
        using var client = a.Client(a.Token("twin-z", [Scopes.SystemWrite]));
        var response = await client.PostAsync("/api/inbox", new StringContent(json, Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Inbox_needs_write_scope_a_valid_signature_and_stores_a_delivery_once()
    {
        const string json = """{"id":"d-1","patientId":"p1","category":"events","event":"action","data":{"x":1}}""";
        using var reader = b.Client(b.Token("reader", [Scopes.SystemRead]));
        (await reader.PostAsync("/api/inbox", new StringContent(json, Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        using var twin = b.Client(b.Token("twin-a", [Scopes.SystemWrite]));
        (await twin.PostAsync("/api/inbox", new StringContent(json, Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        HttpRequestMessage Signed(string signature)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/inbox") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-HeartTwin-Signature", signature);
            return request;
        }

        (await twin.SendAsync(Signed("sha256=00"))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        string good = WebhookOutbox.Sign(Secret, Encoding.UTF8.GetBytes(json));
        (await twin.SendAsync(Signed(good))).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var again = await twin.SendAsync(Signed(good));
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicate").GetBoolean().ShouldBeTrue();

        // Readers see only their patients' shares.
        using var p2Reader = b.Client(b.Token("p2-reader", [Scopes.PatientRead], "p2"));
        JsonDocument.Parse(await p2Reader.GetStringAsync("/api/inbox")).RootElement.GetArrayLength().ShouldBe(0);
        using var p1Reader = b.Client(b.Token("p1-reader", [Scopes.PatientRead], "p1"));
        JsonDocument.Parse(await p1Reader.GetStringAsync("/api/inbox")).RootElement.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Oversized_inbox_body_is_413()
    {
        await using var small = await SharingHost.StartAsync(new() { ["Sharing:MaxInboxBodyBytes"] = "2048" });
        using var client = small.Client();
        string json = """{"id":"big","patientId":"p1","category":"ecg","event":"samples","data":{"pad":" """ + new string('x', 4096) + "\"}}";
        (await client.PostAsync("/api/inbox", new StringContent(json, Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
    }
}
