using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace HeartTwin.ServiceDefaults;

/// <summary>OpenTelemetry metrics and traces for every host, and the resilience pipeline for outbound HTTP.</summary>
public static class TelemetryExtensions
{
    /// <summary>The environment variable (or configuration key) that turns on the OTLP exporter.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Meters and activity sources of HeartTwin's own code (blocks name theirs <c>HeartTwin.&lt;Block&gt;</c>).</summary>
    public const string HeartTwinSources = "HeartTwin.*";

    /// <summary>
    /// Adds OpenTelemetry metrics (ASP.NET Core, HttpClient and the HeartTwin meters) and traces (ASP.NET Core,
    /// HttpClient, HeartTwin sources), named after <c>OTEL_SERVICE_NAME</c> or the application. The OTLP exporter is added
    /// only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, so a laptop run sends nothing anywhere; the exporter reads the
    /// other standard <c>OTEL_*</c> variables (protocol, headers) itself.
    /// </summary>
    public static IHostApplicationBuilder AddServiceTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        bool export = IsOtlpExportEnabled(builder.Configuration);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : builder.Environment.ApplicationName))
            .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter(HeartTwinSources))
            .WithTracing(t => t
                // Probes every few seconds would drown the traces that matter.
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
                .AddHttpClientInstrumentation()
                .AddSource(HeartTwinSources));
        if (export)
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Whether the OTLP exporter will be added (the endpoint is configured).</summary>
    public static bool IsOtlpExportEnabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);
    }

    /// <summary>
    /// Gives every <see cref="System.Net.Http.IHttpClientFactory"/> client the standard resilience pipeline (rate limiter,
    /// total and per-attempt timeouts, retries with jittered back-off, circuit breaker). Retries are off for POST, PUT,
    /// PATCH and DELETE: Sharing's webhook outbox already retries deliveries with its own back-off and records each attempt,
    /// and a hidden second POST would blur both.
    /// </summary>
    public static IHostApplicationBuilder AddOutboundHttpResilience(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler(o => o.Retry.DisableForUnsafeHttpMethods()));
        return builder;
    }
}
