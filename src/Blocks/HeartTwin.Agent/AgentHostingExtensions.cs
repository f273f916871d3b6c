using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Agent;

/// <summary>Adds the Agent block to a host.</summary>
public static class AgentHostingExtensions
{
    /// <summary>
    /// Registers <see cref="AgentOptions"/> (section "Agent", validated at start), the subscriptions to
    /// <see cref="BeatsAcquired"/>, <see cref="DeviceConnectionChanged"/>, <see cref="SequenceGapDetected"/> and
    /// <see cref="AnalysisRequested"/>, and the scheduler (a hosted service) that classifies through Inference, reads
    /// windows and states from Storage and publishes <see cref="AnalysisCompleted"/> and <see cref="ActionProposed"/>.
    /// Registers <see cref="TimeProvider.System"/> unless a TimeProvider is already registered. The host adds the bus.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHostApplicationBuilder AddAgent(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AgentOptions>()
            .BindConfiguration(AgentOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TwinRegistry>();
        services.TryAddSingleton<AgentScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentScheduler>());
        services.AddMessageHandler<BeatsAcquired, AgentHandlers>();
        services.AddMessageHandler<DeviceConnectionChanged, AgentHandlers>();
        services.AddMessageHandler<SequenceGapDetected, AgentHandlers>();
        services.AddMessageHandler<AnalysisRequested, AgentHandlers>();
        return builder;
    }
}
