using System.Net;
using System.Net.Http.Headers;

namespace HeartTwin.Dashboard.Tests;

/// <summary>What MapDashboard serves, over plain HTTP: the page, its assets, and the errors.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardEndpointTests(DashboardFixture twin)
{
    [Fact]
    public async Task The_page_is_served_at_the_root_without_a_token_with_a_strict_content_security_policy()
    {
        using var client = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        using var response = await client.GetAsync("/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        string html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<title>HeartTwin</title>");
        response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self'");
        response.Headers.CacheControl!.NoCache.ShouldBeTrue();
    }

    [Fact]
    public async Task Every_asset_the_page_names_is_served_and_cached_by_its_content_hash()
    {
        using var client = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        string html = await client.GetStringAsync("/");
        var assets = System.Text.RegularExpressions.Regex.Matches(html, "(?:src|href)=\"\\./(assets/[^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        assets.Count.ShouldBeGreaterThanOrEqualTo(2, "a script and a stylesheet");
        foreach (string asset in assets)
        {
            using var response = await client.GetAsync("/" + asset);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, asset);
            response.Headers.CacheControl!.MaxAge.ShouldBe(TimeSpan.FromDays(365));
            string expected = asset.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "text/css";
            response.Content.Headers.ContentType!.MediaType.ShouldBe(expected);

            using var again = new HttpRequestMessage(HttpMethod.Get, "/" + asset);
            again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            using var revalidated = await client.SendAsync(again);
            revalidated.StatusCode.ShouldBe(HttpStatusCode.NotModified);
        }
    }

    [Fact]
    public async Task An_unknown_asset_is_a_404_problem_and_the_API_keeps_its_own_routes()
    {
        using var client = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        using var missing = await client.GetAsync("/assets/nothing-here.js");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        missing.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");

        using var api = await client.GetAsync("/api/twins");
        api.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "the page needs no token, the API still does");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DashboardFixture.AdminToken);
        using var allowed = await client.GetAsync("/api/twins");
        allowed.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public void The_built_page_and_its_assets_are_embedded_in_the_dashboard_assembly_and_nowhere_else()
    {
        var assets = new DashboardAssets();
        assets.IsBuilt.ShouldBeTrue("the build ran vite and embedded client/dist");
        assets.Count.ShouldBeGreaterThanOrEqualTo(3);
        assets.Find("index.html")!.ContentType.ShouldBe("text/html; charset=utf-8");

        // An assembly without the resources (a build with SkipDashboardBuild) is recognised as such.
        new DashboardAssets(typeof(object).Assembly).IsBuilt.ShouldBeFalse();
    }
}
