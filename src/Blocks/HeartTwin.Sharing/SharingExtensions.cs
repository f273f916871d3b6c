using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing.Api;
using HeartTwin.Sharing.Fhir;
using HeartTwin.Sharing.Streaming;
using HeartTwin.Sharing.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Sharing;

/// <summary>Registration and endpoints of the Sharing block.</summary>
public static class SharingExtensions
{
    /// <summary>
    /// Adds the Sharing block: <see cref="SharingOptions"/> (section <c>Sharing</c>), the policy gate, the live hub,
    /// the subscription store (<c>sharing.db</c>), the webhook dispatcher, and its bus subscriptions to
    /// SamplesReceived, AnalysisCompleted, ActionDecided, CommandStatusChanged, WindowAcquired and VitalsReceived.
    /// The host must have called <c>AddServiceDefaults()</c> and <c>services.AddMessaging()</c>.
    /// </summary>
    public static IHostApplicationBuilder AddSharing(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<SharingOptions>().BindConfiguration(SharingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SharePolicy>();
        services.AddSingleton<LiveHub>();
        services.AddSingleton<SharingStore>();
        services.AddSingleton<WebhookOutbox>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHttpClient(WebhookDispatcher.HttpClientName);
        // The live ECG view follows the samples; a device's acknowledgement does not wait for viewers.
        services.AddMessageHandler<SamplesReceived, SharingEventHandler>(new SubscriptionDelivery { AwaitedByPublisher = false });
        services.AddMessageHandler<AnalysisCompleted, SharingEventHandler>();
        services.AddMessageHandler<ActionDecided, SharingEventHandler>();
        services.AddMessageHandler<CommandStatusChanged, SharingEventHandler>();
        services.AddMessageHandler<WindowAcquired, SharingEventHandler>();
        services.AddMessageHandler<VitalsReceived, SharingEventHandler>();
        return builder;
    }

    /// <summary>
    /// Maps <c>/api/twins…</c> (REST and SSE), <c>/api/subscriptions</c>, <c>/api/inbox</c>, <c>/api/tokens</c> and <c>/fhir/…</c>,
    /// all behind bearer tokens (except <c>/fhir/metadata</c>).
    /// </summary>
    public static IEndpointRouteBuilder MapSharing(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").RequireAuthorization(HeartTwinAuthentication.AuthenticatedPolicy);
        TwinEndpoints.Map(api);
        ShareEndpoints.Map(api);
        FhirEndpoints.Map(app);
        return app;
    }
}
