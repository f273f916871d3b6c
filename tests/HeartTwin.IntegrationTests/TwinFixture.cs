using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using HeartTwin.Host;
using Microsoft.AspNetCore.Builder;

namespace HeartTwin.IntegrationTests;

/// <summary>Where the shared MIT-BIH records are.</summary>
internal static class TestData
{
    public static string RepoRoot => HeartTwin.Testing.SharedTestPaths.RepoRoot;

    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}

/// <summary>The real embedded host, in this process, on loopback ports, with its own data folder.</summary>
public sealed class TwinFixture : IAsyncLifetime
{
    public const string AdminToken = "integration-admin-token";

    private WebApplication? app;

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "hearttwin-it-" + Guid.NewGuid().ToString("N")[..8]);

    public int HttpPort { get; private set; }

    public int MqttPort { get; private set; }

    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("Auth__AdminToken", AdminToken);
        Environment.SetEnvironmentVariable("Auth__SigningKey", "integration-signing-key-0123456789abcdef");
        // A port found free can be taken by another test assembly (they run in parallel) before Kestrel binds it: try others.
        for (int attempt = 1; ; attempt++)
        {
            HttpPort = TestData.FreePort();
            MqttPort = TestData.FreePort();
            app = TwinApp.Build(["--urls", BaseUrl, "--mqtt-port", MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--data-dir", DataDir, "--Agent:IntervalSeconds=1", "--Logging:LogLevel:Default=Warning"]);
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
        Admin = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        Anonymous = new HttpClient { BaseAddress = new Uri(BaseUrl) };
    }

    public async Task<DeviceCredentialsDto> RegisterAsync(string device, string patient)
    {
        using var response = await Admin.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = device, PatientId = patient, Kind = "test-ecg" }, TestData.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<DeviceCredentialsDto>(TestData.Json))!;
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
