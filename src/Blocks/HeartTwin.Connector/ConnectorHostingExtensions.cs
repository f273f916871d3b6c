using System.Globalization;
using System.Net;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MQTTnet.Server;

namespace HeartTwin.Connector;

/// <summary>Composition of the Connector block.</summary>
public static class ConnectorHostingExtensions
{
    /// <summary>Where HTTP listens when the host was given no URLs (the HeartTwin host's documented default).</summary>
    public const string DefaultHttpUrl = "http://localhost:8080";

    /// <summary>
    /// Adds the device registry, HTTP and MQTT ingestion, the embedded MQTT broker (a second Kestrel listener on
    /// <c>Connector:MqttAddress</c>:<c>Connector:MqttPort</c>) and command delivery. The host must call
    /// <c>AddServiceDefaults()</c> and <c>services.AddMessaging()</c>, and map the endpoints with <see cref="MapConnector"/>.
    /// Because Kestrel ignores <c>--urls</c> once any endpoint is configured in code, this also listens on the host's
    /// <c>urls</c> (or <c>http_ports</c>), or on <see cref="DefaultHttpUrl"/> when it has none.
    /// </summary>
    public static IHostApplicationBuilder AddConnector(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<ConnectorOptions>().BindConfiguration(ConnectorOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.MinSampleRateHz <= o.MaxSampleRateHz, "Connector:MinSampleRateHz must not exceed Connector:MaxSampleRateHz.")
            .Validate(o => o.MqttPort == 0 || ParseAddress(o.MqttAddress) is not null, "Connector:MqttAddress must be an IP address, 'localhost' or '*'.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<ConnectorStats>();
        services.TryAddSingleton<DeviceRegistry>();
        services.TryAddSingleton<BatchValidator>();
        services.TryAddSingleton<IngestionService>();
        services.TryAddSingleton<PendingCommands>();
        services.TryAddSingleton<AckService>();
        services.TryAddSingleton<MqttGateway>();

        // The gateway attaches its handlers before the broker starts (hosted services start in registration order).
        services.AddHostedService(sp => sp.GetRequiredService<MqttGateway>());
        services.AddHostedMqttServer(o => o.WithoutDefaultEndpoint());
        services.AddMqttConnectionHandler();
        services.AddConnections();
        services.AddMessageHandler<ActuateDevice, ActuateDeviceHandler>();

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectorOptions>, IConfiguration>(ConfigureKestrel);
        return builder;
    }

    /// <summary>Maps <c>/api/devices</c> (admin: register, list, status) and the device endpoints (samples, commands, acks).</summary>
    public static IEndpointRouteBuilder MapConnector(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        ConnectorEndpoints.Map(app);
        return app;
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, IOptions<ConnectorOptions> connector, IConfiguration configuration)
    {
        var options = connector.Value;
        if (options.MqttPort == 0)
        {
            // No endpoint in code: Kestrel keeps honouring --urls by itself.
            return;
        }

        if (!configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            foreach (var url in HttpUrls(configuration))
            {
                ListenHttp(kestrel, url);
            }
        }

        var address = ParseAddress(options.MqttAddress)!;
        if (address.Equals(IPAddress.Loopback) && options.MqttAddress == "localhost")
        {
            kestrel.ListenLocalhost(options.MqttPort, UseMqttOnceStarted);
        }
        else
        {
            kestrel.Listen(address, options.MqttPort, UseMqttOnceStarted);
        }
    }

    /// <summary>
    /// MQTT on a Kestrel listener, but only once the broker has started: Kestrel accepts connections a moment before the
    /// hosted MQTT server is ready, and MQTTnet fails such a connection with a NullReferenceException. A device that
    /// connects that early waits (up to 30 s) instead of being dropped.
    /// </summary>
    private static void UseMqttOnceStarted(ListenOptions listen)
    {
        listen.Use(next => async connection =>
        {
            var broker = listen.ApplicationServices.GetRequiredService<MqttServer>();
            var stopping = listen.ApplicationServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, stopping);
            patience.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                while (!broker.IsStarted)
                {
                    await Task.Delay(20, patience.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                connection.Abort();
                return;
            }

            // Kestrel stops before the hosted broker and waits for every open connection to close, but an MQTT connection
            // never closes by itself: with devices connected, a shutdown waited the host's whole timeout (30 s). So the
            // connections close as the host begins to stop. A device's unacknowledged batch is sent again after it
            // reconnects (QoS 1), and the twin ignores a batch it already holds, so nothing is lost or stored twice.
            using var closeOnStop = stopping.Register(static c => ((ConnectionContext)c!).Abort(), connection);
            await next(connection).ConfigureAwait(false);
        });
        listen.UseMqtt();
    }

    /// <summary>The HTTP URLs the host was given (<c>urls</c>, else <c>http_ports</c>/<c>https_ports</c>), or the default.</summary>
    internal static IReadOnlyList<string> HttpUrls(IConfiguration configuration)
    {
        var urls = Split(configuration[WebHostDefaults.ServerUrlsKey]);
        if (urls.Count == 0)
        {
            urls = [.. Split(configuration[WebHostDefaults.HttpPortsKey]).Select(p => $"http://*:{p}"),
                    .. Split(configuration[WebHostDefaults.HttpsPortsKey]).Select(p => $"https://*:{p}")];
        }

        return urls.Count == 0 ? [DefaultHttpUrl] : urls;
    }

    private static List<string> Split(string? value) =>
        value is null ? [] : [.. value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static void ListenHttp(KestrelServerOptions kestrel, string url)
    {
        var binding = BindingAddress.Parse(url);
        Action<ListenOptions> configure = string.Equals(binding.Scheme, "https", StringComparison.OrdinalIgnoreCase) ? l => l.UseHttps() : _ => { };
        string host = binding.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(binding.Port, configure);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, binding.Port, configure);
        }
        else
        {
            // "*", "+", "0.0.0.0" or a host name: every interface, as Kestrel itself treats them.
            kestrel.ListenAnyIP(binding.Port, configure);
        }
    }

    private static IPAddress? ParseAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "+" => IPAddress.Any,
        _ => IPAddress.TryParse(address, out var ip) ? ip : null,
    };
}
