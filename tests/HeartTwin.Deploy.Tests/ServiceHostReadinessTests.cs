using System.Net;
using System.Net.Sockets;
using HeartTwin.ServiceHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Deploy.Tests;

/// <summary>A service host cut off from the bus's broker says it is not ready, so Kubernetes routes nothing to it.</summary>
public sealed class ServiceHostReadinessTests
{
    [Fact]
    [Trait("Regression", "issue 6: Sharing stayed ready while its bus could not answer")]
    public async Task A_service_host_without_its_broker_is_alive_but_not_ready_and_says_why()
    {
        string data = Path.Combine(Path.GetTempPath(), "ht-ready-" + Guid.NewGuid().ToString("N"));
        int noBroker = FreePort(); // nothing listens there
        var builder = ServiceHost.ServiceHost.CreateBuilder([
            "--urls", "http://127.0.0.1:0",
            $"--HeartTwin:DataDirectory={data}",
            "--Messaging:Mqtt:Host=127.0.0.1", $"--Messaging:Mqtt:Port={noBroker}",
            "--Messaging:Mqtt:StartTimeoutMs=0", "--Logging:LogLevel:Default=None"], "policy-probe");
        await using var app = builder.Build();
        app.MapServiceEndpoints();
        await app.StartAsync();
        try
        {
            string url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(url) };

            (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
            using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
            ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            await app.StopAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
