using HeartTwin.Dashboard;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeartTwin.Gateway;

/// <summary>
/// The single HTTP endpoint of the distributed twin: YARP routes by path (the routes and clusters are in appsettings.json,
/// section <c>ReverseProxy</c>; each cluster's address is overridable, e.g.
/// <c>ReverseProxy__Clusters__sharing__Destinations__primary__Address=http://sharing:8080</c>). It answers its own
/// <c>/health/live</c> and <c>/health/ready</c>, and turns a backend it cannot reach into a ProblemDetails 502/503/504.
/// </summary>
public static class GatewayApp
{
    /// <summary>Builds the gateway from the command line (any configuration key as <c>--Section:Key=value</c>).</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
        {
            builder.Configuration.AddInMemoryCollection([new("OTEL_SERVICE_NAME", "hearttwin-gateway")]);
        }

        builder.AddServiceTelemetry();
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"])
            .AddCheck<BackendHealthCheck>("backends");
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));

        var app = builder.Build();
        app.UseExceptionHandler();
        // Liveness is the gateway's own; readiness also reports backends its active checks found down (Degraded still
        // answers 200: one block down must not take the single endpoint out of the load balancer for every other route).
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready");
        // The dashboard is static files that talk to /api: the single endpoint serves them itself (issue 5), so a browser
        // sees one origin and no block has to carry the page.
        app.MapDashboard();
        app.MapReverseProxy(proxy =>
        {
            proxy.UseMiddleware<ProxyErrorProblems>();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }
}
