using HeartTwin.Messaging;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.ServiceDefaults;

/// <summary>What every HeartTwin host adds and maps.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Adds ProblemDetails, health checks, OpenAPI, bearer authentication, the authorization policies, and OpenTelemetry
    /// metrics and traces (<see cref="TelemetryExtensions.AddServiceTelemetry"/>: exported only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set).
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        builder.AddServiceTelemetry();
        services.AddProblemDetails();
        services.AddExceptionHandler<BusUnavailableExceptionHandler>();
        services.AddOpenApi();
        services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"])
            .AddCheck<DeadLetterHealthCheck>("dead-letters", tags: ["ready"]);
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TokenService>();
        services.AddAuthentication(HeartTwinAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, HeartTwinAuthentication>(HeartTwinAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(HeartTwinAuthentication.AuthenticatedPolicy, p => p.RequireAuthenticatedUser())
            .AddPolicy(HeartTwinAuthentication.AdminPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c => HeartTwinPrincipal.From(c.User).IsAdmin));
        return builder;
    }

    /// <summary>Maps /health/live, /health/ready and /openapi/v1.json, and turns on authentication.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready");
        app.MapOpenApi();
        return app;
    }

    private sealed class DeadLetterHealthCheck(IDeadLetters deadLetters) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(deadLetters.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded($"{deadLetters.Count} message(s) parked after failing every attempt."));
    }
}
