using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing.Api;

namespace HeartTwin.Sharing.Tests;

public sealed class ApiTests : IAsyncLifetime
{
    private SharingHost host = null!;

    public async Task InitializeAsync() => host = await SharingHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task ShouldBeProblem(HttpResponseMessage response, HttpStatusCode status, string? detailContains = null)
    {
        response.StatusCode.ShouldBe(status);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var body = await Json(response);
        body.GetProperty("status").GetInt32().ShouldBe((int)status);
        if (detailContains is not null)
        {
            body.GetProperty("detail").GetString()!.ShouldContain(detailContains);
        }
    }

    private const string Range = "from=2024-05-01T10:00:00Z&to=2024-05-01T10:00:10Z";

    [Fact]
    public async Task No_token_is_401_on_every_api_route()
    {
        using var anonymous = host.Client(null);
        foreach (var path in new[] { "/api/twins", "/api/twins/p1", $"/api/twins/p1/ecg?{Range}", "/api/twins/p1/beats", "/api/subscriptions", "/api/inbox", "/fhir/Patient/p1" })
        {
            (await anonymous.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized, path);
        }
    }

    [Fact]
    public async Task Bad_or_forged_token_is_401()
    {
        using var bad = host.Client("not-a-token");
        (await bad.GetAsync("/api/twins")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        // A well-formed JWT signed with another key.
        await using var other = await SharingHost.StartAsync(new() { ["Auth:SigningKey"] = "another-signing-key-0123456789abcdef012345" });
        using var forged = host.Client(other.Token("mallory", [Scopes.SystemRead]));
        (await forged.GetAsync("/api/twins")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Admin_sees_every_patient()
    {
        using var admin = host.Client();
        var body = await Json(await admin.GetAsync("/api/twins"));
        body.GetProperty("patients").EnumerateArray().Select(p => p.GetProperty("patientId").GetString()).ShouldBe(["p1", "p2"]);
        body.GetProperty("patients")[0].GetProperty("state").GetProperty("heartRateBpm").GetDouble().ShouldBe(72.4);
    }

    [Fact]
    public async Task A_patient_token_lists_only_its_patient_and_gets_403_for_another()
    {
        using var client = host.Client(host.Token("clinic-a", [Scopes.PatientRead], "p2"));
        var list = await Json(await client.GetAsync("/api/twins"));
        list.GetProperty("patients").EnumerateArray().Select(p => p.GetProperty("patientId").GetString()).ShouldBe(["p2"]);
        await ShouldBeProblem(await client.GetAsync("/api/twins/p1"), HttpStatusCode.Forbidden, "p1");
        await ShouldBeProblem(await client.GetAsync($"/api/twins/p1/ecg?{Range}"), HttpStatusCode.Forbidden);
        await ShouldBeProblem(await client.GetAsync("/api/twins/p1/beats"), HttpStatusCode.Forbidden);
        (await client.GetAsync("/api/twins/p2")).StatusCode.ShouldBe(HttpStatusCode.OK);
        // The storage was never asked about p1 for this caller.
        host.Storage.Queries.OfType<SamplesQuery>().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_token_without_read_scope_sees_no_patients()
    {
        using var client = host.Client(host.Token("writer", [Scopes.PatientWrite], "p1"));
        var list = await Json(await client.GetAsync("/api/twins"));
        list.GetProperty("patients").GetArrayLength().ShouldBe(0);
        (await client.GetAsync("/api/twins/p1")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Policy_denial_is_403_with_the_policy_reason_and_hides_the_patient_from_the_list()
    {
        host.Policy.Allow = r => r.PatientId != "p1";
        using var admin = host.Client();
        await ShouldBeProblem(await admin.GetAsync("/api/twins/p1"), HttpStatusCode.Forbidden, "no consent to share state of p1 with admin");
        var list = await Json(await admin.GetAsync("/api/twins"));
        list.GetProperty("patients").EnumerateArray().Select(p => p.GetProperty("patientId").GetString()).ShouldBe(["p2"]);
        var ecg = await admin.GetAsync($"/api/twins/p1/ecg?{Range}");
        await ShouldBeProblem(ecg, HttpStatusCode.Forbidden, "no consent to share ecg");
        host.Policy.Requests.ShouldContain(r => r.Category == "ecg" && r.Purpose == "api" && r.Recipient == "admin" && r.PatientId == "p1");
        host.Storage.Queries.OfType<SamplesQuery>().ShouldBeEmpty();
    }

    [Fact]
    public async Task State_of_an_unknown_patient_is_404()
    {
        using var admin = host.Client();
        await ShouldBeProblem(await admin.GetAsync("/api/twins/nobody"), HttpStatusCode.NotFound, "nobody");
    }

    [Fact]
    public async Task Ecg_returns_the_stored_integer_samples_with_gain_and_baseline()
    {
        using var admin = host.Client();
        var response = await admin.GetAsync("/api/twins/p1/ecg?from=2024-05-01T10:00:01Z&to=2024-05-01T10:00:03Z");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await Json(response);
        var segment = body.GetProperty("segments")[0];
        segment.GetProperty("sampleRateHz").GetDouble().ShouldBe(360);
        segment.GetProperty("startTime").GetDateTimeOffset().ShouldBe(FakeStorage.T0.AddSeconds(1));
        var leads = segment.GetProperty("leads");
        leads[0].GetProperty("name").GetString().ShouldBe("MLII");
        leads[0].GetProperty("gain").GetDouble().ShouldBe(200);
        leads[0].GetProperty("baseline").GetInt32().ShouldBe(1024);
        var (_, samples, _) = TestData.First10SecondsOf101;
        var mlii = segment.GetProperty("samples")[0].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        mlii.ShouldBe(samples[0][360..1080]);
        segment.GetProperty("samples")[1].EnumerateArray().Select(e => e.GetInt32()).ToArray().ShouldBe(samples[1][360..1080]);
        host.Storage.Queries.OfType<SamplesQuery>().Single().MaxSamplesPerLead.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Ecg_in_millivolts_and_for_one_lead()
    {
        using var admin = host.Client();
        var body = await Json(await admin.GetAsync($"/api/twins/p1/ecg?{Range}&lead=V1&format=mv"));
        var segment = body.GetProperty("segments")[0];
        segment.GetProperty("leads").GetArrayLength().ShouldBe(1);
        segment.GetProperty("leads")[0].GetProperty("name").GetString().ShouldBe("V1");
        var (_, samples, _) = TestData.First10SecondsOf101;
        var mv = segment.GetProperty("millivolts")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();
        mv.Length.ShouldBe(3600);
        mv[100].ShouldBe((samples[1][100] - 1024) / 200f, 1e-6);
        host.Storage.Queries.OfType<SamplesQuery>().Single().Lead.ShouldBe("V1");
    }

    [Theory]
    [InlineData("to=2024-05-01T10:00:10Z", "required")]
    [InlineData("from=yesterday&to=2024-05-01T10:00:10Z", "ISO-8601")]
    [InlineData("from=2024-05-01T10:00:10Z&to=2024-05-01T10:00:00Z", "later")]
    [InlineData("from=2024-05-01T10:00:00Z&to=2024-05-01T12:00:00Z", "at most 600 s")]
    [InlineData("from=2024-05-01T10:00:00Z&to=2024-05-01T10:00:10Z&format=wav", "format")]
    public async Task Bad_ecg_ranges_are_400_problem_details(string query, string detail)
    {
        using var admin = host.Client();
        await ShouldBeProblem(await admin.GetAsync($"/api/twins/p1/ecg?{query}"), HttpStatusCode.BadRequest, detail);
        host.Storage.Queries.OfType<SamplesQuery>().ShouldBeEmpty();
    }

    [Fact]
    public async Task Ecg_larger_than_the_sample_limit_is_400()
    {
        await using var small = await SharingHost.StartAsync(new() { ["Sharing:MaxEcgSamplesPerLead"] = "1000" });
        using var admin = small.Client();
        await ShouldBeProblem(await admin.GetAsync($"/api/twins/p1/ecg?{Range}"), HttpStatusCode.BadRequest, "3600 samples per lead");
    }

    [Fact]
    public async Task Beats_events_actions_and_vitals_have_their_shapes()
    {
        using var admin = host.Client();
        var beats = await Json(await admin.GetAsync($"/api/twins/p1/beats?{Range}"));
        beats.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("class").GetString()).ShouldBe(["N", "N", "V"]);

        var events = await Json(await admin.GetAsync($"/api/twins/p1/events?{Range}"));
        events.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("proposal").GetProperty("eventType").GetString()).ShouldBe(["ventricular-run", "heart-rate-high"]);

        var actions = await Json(await admin.GetAsync($"/api/twins/p1/actions?{Range}"));
        var only = actions.GetProperty("items").EnumerateArray().Single();
        only.GetProperty("proposal").GetProperty("command").GetProperty("name").GetString().ShouldBe("raise-alarm");

        var vitals = await Json(await admin.GetAsync($"/api/twins/p1/vitals?{Range}"));
        var spo2 = vitals.GetProperty("items").EnumerateArray().First(v => v.GetProperty("code").GetString() == "spo2");
        spo2.GetProperty("value").GetDouble().ShouldBe(97);
        spo2.GetProperty("loinc").GetString().ShouldBe("59408-5");

        host.Policy.Requests.Select(r => r.Category).ShouldBe(["beats", "events", "actions", "vitals"], ignoreOrder: true);
    }

    [Fact]
    public async Task List_ranges_default_to_the_last_day_and_reject_bad_limits()
    {
        using var admin = host.Client();
        (await admin.GetAsync("/api/twins/p1/beats")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var q = host.Storage.Queries.OfType<BeatsQuery>().Single();
        (q.To - q.From).ShouldBe(TimeSpan.FromHours(24));
        await ShouldBeProblem(await admin.GetAsync($"/api/twins/p1/beats?{Range}&limit=0"), HttpStatusCode.BadRequest, "limit");
        await ShouldBeProblem(await admin.GetAsync("/api/twins/p1/vitals?from=2024-13-01"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Admin_issues_a_token_that_works_and_bad_scopes_are_400()
    {
        using var admin = host.Client();
        var response = await admin.PostAsJsonAsync("/api/tokens", new IssueTokenRequest("clinic-b", ["patient/*.rs"], ["p1"], 2));
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var body = await Json(response);
        body.GetProperty("expiresAt").GetDateTimeOffset().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddHours(1.9));
        using var issued = host.Client(body.GetProperty("token").GetString());
        var list = await Json(await issued.GetAsync("/api/twins"));
        list.GetProperty("patients").EnumerateArray().Select(p => p.GetProperty("patientId").GetString()).ShouldBe(["p1"]);

        await ShouldBeProblem(await admin.PostAsJsonAsync("/api/tokens", new IssueTokenRequest("x", ["root"], null, null)), HttpStatusCode.BadRequest, "Unknown scope");
        await ShouldBeProblem(await admin.PostAsJsonAsync("/api/tokens", new IssueTokenRequest("", ["admin"], null, null)), HttpStatusCode.BadRequest);
        await ShouldBeProblem(await admin.PostAsJsonAsync("/api/tokens", new IssueTokenRequest("x", ["patient/*.rs"], null, null)), HttpStatusCode.BadRequest, "patients");
        // Only the admin issues tokens.
        (await issued.PostAsJsonAsync("/api/tokens", new IssueTokenRequest("y", ["admin"], null, null))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Export_holds_everything_about_the_patient_and_needs_write_or_admin()
    {
        using var reader = host.Client(host.Token("reader", [Scopes.PatientRead], "p1"));
        (await reader.GetAsync("/api/twins/p1/export")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        using var writer = host.Client(host.Token("guardian", [Scopes.PatientWrite], "p1"));
        var body = await Json(await writer.GetAsync("/api/twins/p1/export"));
        body.GetProperty("patientId").GetString().ShouldBe("p1");
        body.GetProperty("samples")[0].GetProperty("samples")[0].GetArrayLength().ShouldBe(3600);
        body.GetProperty("beats").GetArrayLength().ShouldBe(3);
        body.GetProperty("events").GetArrayLength().ShouldBe(2);
        body.GetProperty("vitals").GetArrayLength().ShouldBe(2);
        body.GetProperty("unavailable").EnumerateArray().Select(e => e.GetString()).ShouldBe(["audit"]);
        host.Policy.Requests.ShouldAllBe(r => r.Purpose == "export");
    }

    [Fact]
    public async Task Erase_is_admin_only_and_asks_storage()
    {
        using var writer = host.Client(host.Token("guardian", [Scopes.PatientWrite], "p1"));
        (await writer.DeleteAsync("/api/twins/p1")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        host.Storage.Erased.ShouldBeEmpty();

        using var admin = host.Client();
        var body = await Json(await admin.DeleteAsync("/api/twins/p1"));
        body.GetProperty("rowsDeleted").GetInt64().ShouldBe(42);
        host.Storage.Erased.Single().ShouldBe(new ErasePatientRequest("p1", "admin"));
    }

    [Fact]
    public async Task Without_a_Storage_block_answering_the_api_says_503_with_retry_after_not_500()
    {
        await using var alone = await SharingHost.StartAsync(withStorage: false);
        using var response = await alone.Client().GetAsync(new Uri("/api/twins", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter.ShouldNotBeNull();
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain("not running");
    }
}
