using System.Net;
using System.Net.Http.Headers;

namespace HeartTwin.Gateway.Tests;

/// <summary>Every public path reaches the service whose Map* method serves it, through the shipped routes.</summary>
public sealed class RoutingTests : IAsyncLifetime
{
    private readonly Dictionary<string, Backend> backends = [];
    private GatewayUnderTest gateway = null!;

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "connector", "policy", "actuation", "sharing" })
        {
            backends[name] = await Backend.StartAsync(name);
        }

        gateway = await GatewayUnderTest.StartAsync(backends.ToDictionary(b => b.Key, b => b.Value.Url));
    }

    public async Task DisposeAsync()
    {
        await gateway.DisposeAsync();
        foreach (var b in backends.Values)
        {
            await b.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("POST", "/api/devices", "connector")]
    [InlineData("GET", "/api/devices/patch-1", "connector")]
    [InlineData("POST", "/api/devices/patch-1/samples", "connector")]
    [InlineData("GET", "/api/devices/patch-1/commands", "connector")]
    [InlineData("POST", "/api/devices/patch-1/acks", "connector")]
    [InlineData("GET", "/api/policy", "policy")]
    [InlineData("GET", "/api/policy/decisions?limit=5", "policy")]
    [InlineData("GET", "/api/audit/verify", "policy")]
    [InlineData("GET", "/api/commands/c-1", "actuation")]
    [InlineData("GET", "/api/twins/p-1/commands", "actuation")]
    [InlineData("POST", "/api/twins/p-1/commands", "actuation")]
    [InlineData("GET", "/api/twins", "sharing")]
    [InlineData("GET", "/api/twins/p-1", "sharing")]
    [InlineData("GET", "/api/twins/p-1/ecg?from=0&to=10", "sharing")]
    [InlineData("GET", "/api/twins/p-1/vitals", "sharing")]
    [InlineData("DELETE", "/api/twins/p-1", "sharing")]
    [InlineData("POST", "/api/subscriptions", "sharing")]
    [InlineData("POST", "/api/inbox", "sharing")]
    [InlineData("POST", "/api/tokens", "sharing")]
    [InlineData("GET", "/fhir/metadata", "sharing")]
    [InlineData("GET", "/fhir/Observation?patient=p-1", "sharing")]
    public async Task A_path_reaches_the_service_that_serves_it(string method, string path, string expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await gateway.Client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        string body = await response.Content.ReadAsStringAsync();
        body.ShouldStartWith($"{expected} {method} {path}");
    }

    [Fact]
    public async Task The_gateway_serves_the_dashboard_itself()
    {
        using var response = await gateway.Client.GetAsync(new Uri("/", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        (await response.Content.ReadAsStringAsync()).ShouldNotStartWith("sharing"); // not proxied to a backend
    }

    [Fact]
    public async Task The_bearer_token_and_the_query_pass_through_unchanged()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/twins/p-1/beats?from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "ht-admin-abc");
        using var response = await gateway.Client.SendAsync(request);

        (await response.Content.ReadAsStringAsync()).ShouldBe("sharing GET /api/twins/p-1/beats?from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z auth=Bearer ht-admin-abc");
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task The_gateway_answers_its_own_health_endpoints(string path)
    {
        using var response = await gateway.Client.GetAsync(new Uri(path, UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldBe("Healthy");
    }

    [Fact]
    public async Task A_live_stream_passes_through_event_by_event()
    {
        using var response = await gateway.Client.GetAsync(new Uri("/api/twins/p-7/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The backend holds its second event back until the first has been read through the gateway: a buffering proxy
        // would deliver nothing and this read would time out.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        (await reader.ReadLineAsync(timeout.Token)).ShouldBe("event: state");
        (await reader.ReadLineAsync(timeout.Token)).ShouldBe("data: {\"patient\":\"p-7\",\"n\":1}");
        backends["sharing"].ReleaseSecondEvent.SetResult();
        (await reader.ReadLineAsync(timeout.Token)).ShouldBe("");
        (await reader.ReadLineAsync(timeout.Token)).ShouldBe("event: state");
        (await reader.ReadLineAsync(timeout.Token)).ShouldBe("data: {\"patient\":\"p-7\",\"n\":2}");
    }
}
