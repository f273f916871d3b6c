using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace HeartTwin.Host;

/// <summary>Tells the person who started the twin where it listens and, when it generated one, the admin token.</summary>
internal sealed class StartupBanner(IHostApplicationLifetime lifetime, IServer server, TokenService tokens, IConfiguration configuration) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Console.WriteLine();
            Console.WriteLine("HeartTwin is running (embedded: SQLite, in-process bus, embedded MQTT broker).");
            string mqttPort = configuration["Connector:MqttPort"] ?? "1883";
            foreach (var a in addresses.Where(a => !a.EndsWith($":{mqttPort}", StringComparison.Ordinal)))
            {
                Console.WriteLine($"  HTTP   {a}   (API under /api, FHIR under /fhir, OpenAPI at /openapi/v1.json)");
            }

            Console.WriteLine(mqttPort == "0" ? "  MQTT   off" : $"  MQTT   port {mqttPort} (devices: hearttwin/devices/{{id}}/samples)");
            Console.WriteLine($"  Data   {configuration["Storage:DataDirectory"]}");
            if (tokens.AdminTokenGenerated)
            {
                Console.WriteLine($"  Admin token (generated for this run; set Auth__AdminToken to fix one): {tokens.AdminToken}");
            }

            Console.WriteLine();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
