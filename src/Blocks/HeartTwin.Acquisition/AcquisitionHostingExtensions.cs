using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Acquisition;

/// <summary>Composes the Acquisition block into a host.</summary>
public static class AcquisitionHostingExtensions
{
    /// <summary>
    /// Adds the Acquisition block: <see cref="AcquisitionOptions"/> (section "Acquisition"), the handler of
    /// <see cref="SamplesReceived"/> that publishes <see cref="BeatsAcquired"/> and <see cref="WindowAcquired"/>, and the
    /// sweep of idle streams. The host adds the bus (<c>services.AddMessaging()</c>).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The builder.</returns>
    public static IHostApplicationBuilder AddAcquisition(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddAcquisition();
        return builder;
    }

    /// <summary>Adds the Acquisition block's services (see <see cref="AddAcquisition(IHostApplicationBuilder)"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddAcquisition(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AcquisitionOptions>()
            .BindConfiguration(AcquisitionOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StreamRegistry>();
        // Analysis is downstream of the device's acknowledgement, not part of it: the Connector acknowledges once Storage
        // has committed the samples, and Acquisition takes them from its own bounded, per-patient ordered queue. Otherwise
        // every acknowledgement would wait for detection and for the beats' own commit (docs/twin-architecture.md).
        // Its queues are short, so analysis never lags acknowledgements by more than about a second of batches per partition
        // before devices are slowed down: a late alert is worse than a slower acknowledgement.
        services.AddMessageHandler<SamplesReceived, SamplesReceivedHandler>(new SubscriptionDelivery { AwaitedByPublisher = false, QueueCapacity = 256 });
        services.AddHostedService<IdleStreamEviction>();
        return services;
    }
}
