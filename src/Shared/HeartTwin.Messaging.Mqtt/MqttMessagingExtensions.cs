using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>Registration of the MQTT transport.</summary>
public static class MqttMessagingExtensions
{
    /// <summary>
    /// Replaces the bus with <see cref="MqttBus"/> (call after <c>AddMessaging()</c>). Options come from <c>Messaging:Mqtt</c>;
    /// a hosted service connects at start and disconnects at stop.
    /// </summary>
    public static IServiceCollection AddMqttMessaging(this IServiceCollection services)
    {
        services.AddOptions<MqttMessagingOptions>().BindConfiguration(MqttMessagingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<MqttBus>();
        services.Replace(ServiceDescriptor.Singleton<IMessageBus>(sp => sp.GetRequiredService<MqttBus>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MqttBusHostedService>());
        return services;
    }

    /// <summary>
    /// What every host calls: adds the bus, and when <c>Messaging:Transport</c> is <c>Mqtt</c>, the MQTT transport.
    /// Call it before the blocks, so that the bus connects (and subscribes) before anything publishes.
    /// </summary>
    public static IHostApplicationBuilder AddConfiguredMessaging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMessaging();
        if (IsMqtt(builder.Configuration))
        {
            builder.Services.AddMqttMessaging();
        }

        return builder;
    }

    /// <summary>Whether the configuration selects the MQTT transport (<c>Messaging:Transport = Mqtt</c>).</summary>
    public static bool IsMqtt(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return string.Equals(configuration[$"{MessagingOptions.Section}:{nameof(MessagingOptions.Transport)}"], "Mqtt", StringComparison.Ordinal);
    }
}

/// <summary>Connects the bus when the host starts and stops it (before the container disposes the handlers) when it stops.</summary>
internal sealed class MqttBusHostedService(MqttBus bus) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => bus.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => bus.StopAsync();
}
