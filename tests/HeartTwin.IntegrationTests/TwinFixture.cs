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
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string MitDb { get; } = Environment.GetEnvironmentVariable("HEARTTWIN_MITDB") is { Length: > 0 } env
        ? env
        : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "mitdb"));

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HeartTwin.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root (HeartTwin.slnx) not found.");
    }

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

    public int HttpPort { get; } = TestData.FreePort();

    public int MqttPort { get; } = TestData.FreePort();

    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("Auth__AdminToken", AdminToken);
        Environment.SetEnvironmentVariable("Auth__SigningKey", "integration-signing-key-0123456789abcdef");
        app = TwinApp.Build(["--urls", BaseUrl, "--mqtt-port", MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data-dir", DataDir, "--Agent:IntervalSeconds=1", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
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
