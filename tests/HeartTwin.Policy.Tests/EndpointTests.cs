using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Policy.Tests;

// xunit disposes through IAsyncLifetime.DisposeAsync, which disposes the client, the host and the folder.
#pragma warning disable CA1001
public sealed class EndpointTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string AdminToken = "test-admin-token-policy";
    private readonly TempDir dir = new();
    private WebApplication app = null!;
    private HttpClient http = null!;

    private FakeAuditStore Store => app.Services.GetRequiredService<FakeAuditStore>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Auth:AdminToken"] = AdminToken;
        builder.Configuration["Policy:Path"] = dir.Write("policy.yaml", DecisionTests.Descriptor);
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<IMessageBus>(sp => new BusView(sp.GetRequiredService<HeartTwin.Messaging.InMemory.InMemoryBus>()));
        builder.Services.AddMessaging();
        builder.AddPolicy();
        builder.Services.AddMessageHandler<AuditRecorded, FakeAuditStore>();
        builder.Services.AddRequestHandler<AuditQuery, AuditResult, FakeAuditStore>();
        app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapPolicy();
        await app.StartAsync();
        http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        try
        {
            await app.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // See PolicyHarness.DisposeAsync.
        }

        dir.Dispose();
    }

    private string Token(string subject, params string[] scopes) =>
        app.Services.GetRequiredService<TokenService>().Issue(subject, scopes, ["p1"], TimeSpan.FromHours(1)).Token;

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string url, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task DecideSomeAsync(int count)
    {
        var bus = app.Services.GetRequiredService<IMessageBus>();
        for (int i = 0; i < count; i++)
        {
            await bus.RequestAsync<ShareRequest, ShareDecision>(new ShareRequest("twin-b", [], "p1", i % 2 == 0 ? "events" : "vitals", "webhook"));
        }
    }

    [Fact]
    public async Task Policy_is_readable_by_any_authenticated_caller_with_its_version()
    {
        (await GetAsync("/api/policy", null)).Status.ShouldBe(HttpStatusCode.Unauthorized);

        var (status, body) = await GetAsync("/api/policy", Token("reader", Scopes.PatientRead));

        status.ShouldBe(HttpStatusCode.OK);
        body.GetProperty("version").GetString().ShouldBe(app.Services.GetRequiredService<PolicyStore>().Current.Version);
        body.GetProperty("yaml").GetString().ShouldBe(DecisionTests.Descriptor);
        body.GetProperty("descriptor").GetProperty("actuation").GetProperty("rules")[0].GetProperty("id").GetString().ShouldBe("alarm");
    }

    [Fact]
    public async Task Decisions_are_listed_newest_first_for_admin_and_system_readers_only()
    {
        await DecideSomeAsync(7);

        var (status, body) = await GetAsync("/api/policy/decisions?limit=3", Token("ops", Scopes.SystemRead));
        status.ShouldBe(HttpStatusCode.OK);
        body.GetProperty("lastSequence").GetInt64().ShouldBe(7);
        body.GetProperty("decisions").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64()).ShouldBe([7L, 6L, 5L]);
        body.GetProperty("decisions")[0].GetProperty("allowed").GetBoolean().ShouldBeTrue();
        body.GetProperty("decisions")[1].GetProperty("rule").GetString().ShouldBe("default-deny");

        (await GetAsync("/api/policy/decisions", Token("reader", Scopes.PatientRead))).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await GetAsync("/api/policy/decisions?limit=0", AdminToken)).Status.ShouldBe(HttpStatusCode.BadRequest);
        (await GetAsync("/api/policy/decisions?limit=5000", AdminToken)).Body.GetProperty("detail").GetString()!.ShouldContain("between 1 and 1000");
    }

    [Fact]
    public async Task Audit_verify_is_admin_only_and_finds_a_tampered_entry()
    {
        await DecideSomeAsync(5);

        (await GetAsync("/api/audit/verify", Token("ops", Scopes.SystemRead))).Status.ShouldBe(HttpStatusCode.Forbidden);
        var (status, body) = await GetAsync("/api/audit/verify", AdminToken);
        status.ShouldBe(HttpStatusCode.OK);
        body.GetProperty("valid").GetBoolean().ShouldBeTrue();
        body.GetProperty("entriesChecked").GetInt64().ShouldBe(5);

        // Someone with database access turns a denial into an allow.
        var entries = Store.Entries;
        Store.Replace(3, entries[3] with { Allowed = true });

        (status, body) = await GetAsync("/api/audit/verify", AdminToken);
        status.ShouldBe(HttpStatusCode.OK);
        body.GetProperty("valid").GetBoolean().ShouldBeFalse();
        body.GetProperty("firstBrokenSequence").GetInt64().ShouldBe(4);
        body.GetProperty("problem").GetString()!.ShouldContain("entry 4");
    }
}
