using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Gateway.Tests;

/// <summary>The real gateway (its shipped appsettings.json routes) on loopback, with its clusters pointed at test backends.</summary>
internal sealed class GatewayUnderTest : IAsyncDisposable
{
    private readonly WebApplication app;

    private GatewayUnderTest(WebApplication app)
    {
        this.app = app;
        Client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
    }

    public HttpClient Client { get; }

    /// <summary>Starts the gateway with each named cluster sent to the given address (others keep their appsettings address).</summary>
    public static async Task<GatewayUnderTest> StartAsync(IReadOnlyDictionary<string, string> clusters, params string[] extraArgs)
    {
        var args = new List<string> { "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning" };
        foreach (var (cluster, address) in clusters)
        {
            args.Add($"--ReverseProxy:Clusters:{cluster}:Destinations:primary:Address={address}");
        }

        args.AddRange(extraArgs);
        var app = GatewayApp.Build([.. args]);
        await app.StartAsync();
        return new GatewayUnderTest(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.DisposeAsync();
    }
}
