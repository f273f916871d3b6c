using System.Net;
using System.Text.Json;

namespace HeartTwin.Gateway.Tests;

/// <summary>A service that cannot be reached gives the client a ProblemDetails naming it, and never takes the gateway down.</summary>
public sealed class BackendDownTests
{
    [Fact]
    public async Task An_unreachable_service_answers_502_problem_details_naming_it()
    {
        await using var sharing = await Backend.StartAsync("sharing");
        await using var gateway = await GatewayUnderTest.StartAsync(new Dictionary<string, string>
        {
            ["connector"] = $"http://127.0.0.1:{Backend.UnusedPort()}",
            ["sharing"] = sharing.Url,
        });

        using var response = await gateway.Client.PostAsync(new Uri("/api/devices/patch-1/samples", UriKind.Relative), new StringContent("{}"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadGateway);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("status").GetInt32().ShouldBe(502);
        problem.RootElement.GetProperty("service").GetString().ShouldBe("connector");
        problem.RootElement.GetProperty("detail").GetString()!.ShouldContain("'connector'");

        // Other services and the gateway's own health are unaffected.
        (await gateway.Client.GetStringAsync(new Uri("/api/twins", UriKind.Relative))).ShouldStartWith("sharing GET /api/twins");
        (await gateway.Client.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_service_its_health_checks_found_down_answers_503_with_retry_after_and_readiness_says_so()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, string> { ["policy"] = $"http://127.0.0.1:{Backend.UnusedPort()}" },
            "--ReverseProxy:Clusters:policy:HealthCheck:Active:Interval=00:00:00.200",
            "--ReverseProxy:Clusters:policy:HealthCheck:Active:Timeout=00:00:00.500");

        HttpResponseMessage? response = null;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            response?.Dispose();
            response = await gateway.Client.GetAsync(new Uri("/api/policy", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                break;
            }

            await Task.Delay(200);
        }

        using (response)
        {
            response!.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(5));
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            problem.RootElement.GetProperty("status").GetInt32().ShouldBe(503);
            problem.RootElement.GetProperty("service").GetString().ShouldBe("policy");
        }

        using var ready = await gateway.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ready.Content.ReadAsStringAsync()).ShouldBe("Degraded");
    }
}
