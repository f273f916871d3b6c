using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Actuation.Tests;

// xunit disposes through IAsyncLifetime.DisposeAsync, which disposes the client and the host.
#pragma warning disable CA1001
public sealed class EndpointTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string AdminToken = "test-admin-token-actuation";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private WebApplication app = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Auth:AdminToken"] = AdminToken;
        builder.Configuration["Actuation:DecisionWaitMs"] = "2000";
        builder.Configuration["Actuation:AckTimeoutSeconds"] = "1";
        builder.Configuration["Actuation:CheckIntervalMs"] = "100";
        builder.AddServiceDefaults();
        BusView.Register(builder.Services);
        builder.Services.AddMessaging();
        builder.AddActuation();
        builder.Services.AddMessageHandler<ActionProposed, FakePolicy>();
        app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapActuation();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private string Token(string subject, string[] scopes, string[] patients) =>
        app.Services.GetRequiredService<TokenService>().Issue(subject, scopes, patients, TimeSpan.FromHours(1)).Token;

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = body is string s ? new StringContent(s, System.Text.Encoding.UTF8, "application/json") : JsonContent.Create(body);
        }

        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Person_with_write_scope_asks_for_a_command_and_gets_the_decision_and_its_status()
    {
        string nurse = Token("nurse-1", [Scopes.PatientRead, Scopes.PatientWrite], ["p1"]);

        using var response = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", nurse,
            new { deviceId = "d1", command = "raise-alarm", parameters = new { level = 2, message = "check leads" } });

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = (await response.Content.ReadFromJsonAsync<CommandRequestAccepted>(Json))!;
        body.Decided.ShouldBeTrue();
        body.Allowed.ShouldBe(true);
        body.Rule.ShouldBe("alarm");
        body.Status!.Status.ShouldBe("sent");
        body.Status.Command.Parameters["level"].ShouldBe("2");
        response.Headers.Location!.ToString().ShouldBe($"/api/commands/{body.CommandId}");

        using var one = await SendAsync(HttpMethod.Get, $"/api/commands/{body.CommandId}", nurse);
        one.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await one.Content.ReadFromJsonAsync<CommandStatusChanged>(Json))!.ActionId.ShouldBe(body.ActionId);

        using var list = await SendAsync(HttpMethod.Get, "/api/twins/p1/commands", nurse);
        list.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await list.Content.ReadFromJsonAsync<List<CommandStatusChanged>>(Json))!.ShouldContain(c => c.CommandId == body.CommandId);
    }

    [Fact]
    public async Task Denied_request_is_accepted_with_the_denial_and_nothing_is_sent()
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", AdminToken,
            new { deviceId = "d1", command = "adjust-pacing", parameters = new { parameter = "lowerRateBpm", value = 30 } });

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = (await response.Content.ReadFromJsonAsync<CommandRequestAccepted>(Json))!;
        body.Allowed.ShouldBe(false);
        body.Status.ShouldBeNull();
        using var one = await SendAsync(HttpMethod.Get, $"/api/commands/{body.CommandId}", AdminToken);
        one.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Callers_without_the_right_scope_or_token_are_refused_with_problem_details()
    {
        string reader = Token("reader", [Scopes.PatientRead], ["p1"]);
        string otherPatient = Token("nurse-2", [Scopes.PatientRead, Scopes.PatientWrite], ["p2"]);
        var command = new { deviceId = "d1", command = "raise-alarm", parameters = new { level = 1 } };

        using (var r = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", null, command))
        {
            r.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (var r = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", reader, command))
        {
            r.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await r.Content.ReadAsStringAsync()).ShouldContain("write scope");
        }

        using (var r = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", otherPatient, command))
        {
            r.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        using (var r = await SendAsync(HttpMethod.Get, "/api/twins/p1/commands", otherPatient))
        {
            r.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
    }

    [Theory]
    [InlineData("""{"command":"raise-alarm"}""", "deviceId")]
    [InlineData("""{"deviceId":"d1"}""", "command")]
    [InlineData("""{"deviceId":"d1","command":"raise-alarm","parameters":{"level":[1,2]}}""", "Parameter 'level'")]
    public async Task Bad_bodies_get_400_with_a_clear_detail(string json, string detail)
    {
        using var r = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", AdminToken, json);

        r.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        r.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await r.Content.ReadAsStringAsync()).ShouldContain(detail);
    }

    [Fact]
    public async Task Malformed_json_gets_400_not_a_crash()
    {
        using var r = await SendAsync(HttpMethod.Post, "/api/twins/p1/commands", AdminToken, "{not json");

        r.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Timer_loop_resends_an_unanswered_command_on_its_own()
    {
        // The host's real clock and timer: with a 1 s time-out the second attempt follows within a few seconds.
        var tracker = app.Services.GetRequiredService<CommandTracker>();
        var bus = app.Services.GetRequiredService<IMessageBus>();
        var decision = ActuationHarness.Decision();
        await bus.PublishAsync(decision with { Proposal = decision.Proposal with { PatientId = "p-timer" } });
        string id = CommandTracker.CommandIdFor(decision.Proposal.ActionId);

        var deadline = DateTime.UtcNow.AddSeconds(25);
        while (tracker.Get(id)!.Attempts < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        tracker.Get(id)!.Attempts.ShouldBe(2);
    }
}
