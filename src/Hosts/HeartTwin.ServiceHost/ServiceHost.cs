using System.Globalization;
using System.Text.RegularExpressions;
using HeartTwin.Messaging;
using HeartTwin.Messaging.Mqtt;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeartTwin.ServiceHost;

/// <summary>
/// What the one-block service hosts of the distributed deployment share: the builder with its content root beside the
/// binary, the distributed defaults (<see cref="ServiceHostDefaults"/>), the service defaults (health, OpenTelemetry,
/// authentication), resilience for outbound HTTP, and the bus. A host's Program.cs adds its block and maps it.
/// </summary>
public static partial class ServiceHost
{
    /// <summary>Creates the builder of the service host named <paramref name="serviceName"/> (lower case, e.g. <c>storage</c>).</summary>
    /// <param name="args">The command line (any configuration key as <c>--Section:Key=value</c>).</param>
    /// <param name="serviceName">The service's name: its MQTT service name (consumer group) and, prefixed, its telemetry name.</param>
    public static WebApplicationBuilder CreateBuilder(string[] args, string serviceName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        if (!ServiceNamePattern().IsMatch(serviceName))
        {
            throw new ArgumentException($"Service name '{serviceName}' must be lower-case letters, digits and dashes.", nameof(serviceName));
        }

        // Content root beside the binary, so appsettings.json, the models and the policy are found wherever it is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(ServiceHostDefaults.For(builder.Configuration, serviceName, AppContext.BaseDirectory));
        Directory.CreateDirectory(builder.Configuration[ServiceHostDefaults.DataDirectoryKey]!);

        builder.AddServiceDefaults();
        builder.AddOutboundHttpResilience();
        builder.AddConfiguredMessaging(); // Messaging:Transport (Mqtt here by default; InMemory for a host run alone)
        if (MqttMessagingExtensions.IsMqtt(builder.Configuration))
        {
            builder.Services.AddHealthChecks().AddCheck<MqttBusHealthCheck>("bus", tags: ["ready"]);
        }

        return builder;
    }

    /// <summary>Maps what every service host answers: <c>/health/live</c>, <c>/health/ready</c> and <c>/openapi/v1.json</c>.</summary>
    public static WebApplication MapServiceEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapDefaultEndpoints();
        return app;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceNamePattern();
}

/// <summary>
/// Ready only while both of the bus's connections are up: a block cut off from the broker can neither take its messages nor
/// answer requests (Sharing's API would time out), so Kubernetes should stop routing to it until it has reconnected.
/// </summary>
internal sealed class MqttBusHealthCheck(MqttBus bus) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(bus.IsConnected
            ? HealthCheckResult.Healthy($"Connected to the MQTT broker as {bus.ClientId} ({bus.Reconnects} reconnects).")
            : HealthCheckResult.Unhealthy($"Not connected to the MQTT broker as {bus.ClientId}; reconnecting."));
}

/// <summary>
/// The distributed deployment's defaults, each used only where nothing (appsettings.json, environment, command line) set the
/// key: the bus over MQTT with this service's name, the replica index from a StatefulSet pod's name, one data folder for the
/// blocks that keep files, and the shipped models and policy beside the binary.
/// </summary>
public static partial class ServiceHostDefaults
{
    /// <summary>The folder of every file a block keeps (<c>/data</c> in the container image).</summary>
    public const string DataDirectoryKey = "HeartTwin:DataDirectory";

    /// <summary>The pod's name (Kubernetes downward API), read for the replica index when none is configured.</summary>
    public const string PodNameKey = "POD_NAME";

    /// <summary>The defaults to add for the keys that are not set.</summary>
    public static Dictionary<string, string?> For(IConfiguration config, string serviceName, string binaryDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var defaults = new Dictionary<string, string?>(StringComparer.Ordinal);
        void Default(string key, string? value)
        {
            if (value is not null && string.IsNullOrEmpty(config[key]))
            {
                defaults[key] = value;
            }
        }

        string dataDir = Path.GetFullPath(config[DataDirectoryKey] is { Length: > 0 } d ? d : "hearttwin-data");
        defaults[DataDirectoryKey] = dataDir;
        Default("OTEL_SERVICE_NAME", "hearttwin-" + serviceName);
        Default("Messaging:Transport", "Mqtt");
        Default("Messaging:Mqtt:ServiceName", serviceName);
        Default("Messaging:Mqtt:ReplicaIndex", ReplicaIndexFromPodName(config[PodNameKey])?.ToString(CultureInfo.InvariantCulture));
        Default("Storage:DataDirectory", dataDir);
        Default("Connector:DataDirectory", dataDir);
        Default("Sharing:DataDirectory", dataDir);
        Default("Inference:ModelsDirectory", Path.Combine(binaryDirectory, "models"));
        Default("Policy:Path", Path.Combine(binaryDirectory, "policy", "default.yaml"));
        return defaults;
    }

    /// <summary>A StatefulSet's pod is named <c>&lt;set&gt;-&lt;ordinal&gt;</c>; the ordinal is the replica index. Null for any other name.</summary>
    public static int? ReplicaIndexFromPodName(string? podName)
    {
        if (podName is null)
        {
            return null;
        }

        var match = OrdinalSuffix().Match(podName);
        return match.Success && int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int ordinal) ? ordinal : null;
    }

    [GeneratedRegex("-([0-9]{1,6})$", RegexOptions.CultureInvariant)]
    private static partial Regex OrdinalSuffix();
}
