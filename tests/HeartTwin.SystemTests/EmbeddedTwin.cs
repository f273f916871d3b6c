using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using HeartTwin.Host;
using Microsoft.AspNetCore.Builder;

namespace HeartTwin.SystemTests;

/// <summary>The one-process twin (every block, SQLite, embedded MQTT) in this process on loopback: the reference answers.</summary>
public sealed class EmbeddedTwin : IAsyncLifetime
{
    public const string AdminToken = "system-embedded-admin-token";

    private WebApplication? app;

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "hearttwin-system-embedded-" + Guid.NewGuid().ToString("N")[..8]);

    public string BaseUrl { get; private set; } = "";

    public int MqttPort { get; private set; }

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // A port found free can be taken by another test assembly before Kestrel binds it: try others.
        for (int attempt = 1; ; attempt++)
        {
            int httpPort = FreePort();
            MqttPort = FreePort();
            BaseUrl = $"http://127.0.0.1:{httpPort}";
            app = TwinApp.Build(["--urls", BaseUrl, "--mqtt-port", MqttPort.ToString(CultureInfo.InvariantCulture), "--data-dir", DataDir,
                "--Auth:AdminToken=" + AdminToken, "--Auth:SigningKey=system-embedded-signing-key-0123456789",
                "--Logging:LogLevel:Default=Warning"]);
            try
            {
                await app.StartAsync();
                break;
            }
            catch (IOException ex) when (attempt < 5 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await app.DisposeAsync();
            }
        }

        Admin = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        Anonymous = new HttpClient { BaseAddress = new Uri(BaseUrl) };
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        Anonymous?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Both twins, started once for every system test (they run one after another in this collection).</summary>
[CollectionDefinition(Name)]
public sealed class SystemTestGroup : ICollectionFixture<DistributedDeployment>, ICollectionFixture<EmbeddedTwin>
{
    public const string Name = "system";
}
