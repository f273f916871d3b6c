using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using HeartTwin.ServiceDefaults;
using HeartTwin.Simulation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace HeartTwin.Host;

/// <summary>Options of the <c>Demo</c> section.</summary>
public sealed class DemoOptions
{
    /// <summary>Whether to replay the demo records as virtual patients.</summary>
    public bool Enabled { get; set; }

    /// <summary>Folder of the WFDB records to replay (RECORDS lists them).</summary>
    [Required]
    public string Database { get; set; } = "demo/mitdb";

    /// <summary>Replay speed: 1 is real time.</summary>
    [Range(0.1, 100)]
    public double Speed { get; set; } = 1;
}

internal static class DemoExtensions
{
    public static WebApplicationBuilder AddDemo(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DemoOptions>().BindConfiguration("Demo").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<DemoDevices>();
        return builder;
    }
}

/// <summary>
/// The demo: each bundled record becomes a patient whose simulated device registers through the public API and streams
/// over the embedded MQTT broker, exactly as a real device would, looping forever.
/// </summary>
internal sealed partial class DemoDevices(
    IOptions<DemoOptions> options, IConfiguration configuration, IServer server, TokenService tokens,
    IHostApplicationLifetime lifetime, IServiceProvider services, ILogger<DemoDevices> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        // The server's addresses are known only once it has started.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        // Kestrel accepts MQTT connections a moment before the broker has started; don't let the demo devices be the first to find out.
        if (services.GetService<MQTTnet.Server.MqttServer>() is { } broker)
        {
            while (!broker.IsStarted)
            {
                await Task.Delay(100, stoppingToken);
            }
        }

        string baseUrl = LocalUrl(server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:8080");
        int mqttPort = configuration.GetValue("Connector:MqttPort", 1883);
        string db = options.Value.Database;
        var records = File.ReadAllLines(Path.Combine(db, "RECORDS")).Select(r => r.Trim()).Where(r => r.Length > 0).ToList();
        string credentialsPath = Path.Combine(configuration["HeartTwin:DataDirectory"] ?? configuration["Storage:DataDirectory"] ?? ".", "demo-devices.json");
        var credentials = LoadCredentials(credentialsPath);

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AdminToken);
        var runs = new List<Task>();
        foreach (var record in records)
        {
            string device = $"demo-{record}-ecg";
            if (!credentials.TryGetValue(device, out var creds))
            {
                creds = await RegisterAsync(http, device, $"demo-{record}", stoppingToken);
                if (creds is null)
                {
                    continue;
                }

                credentials[device] = creds;
                await File.WriteAllTextAsync(credentialsPath, JsonSerializer.Serialize(credentials, Json), stoppingToken);
            }

            SimulatedRecord simRecord;
            try
            {
                simRecord = SimulatedRecord.Load(db, record);
            }
            catch (Exception ex) when (ex is IOException or HeartTwin.Signals.SignalFormatException)
            {
                // One unreadable demo record must not take the twin down.
                LogFailed(logger, device, ex);
                continue;
            }

            var transport = new MqttDeviceTransport("127.0.0.1", mqttPort, device, creds.MqttPassword, binary: true, log: m => LogDevice(logger, device, m));
            var simulator = new DeviceSimulator(simRecord, transport, new DeviceSimulatorOptions
            {
                DeviceId = device,
                Loop = true,
                Speed = options.Value.Speed,
                StartSequence = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), // a fresh, larger sequence after every restart
            }, log: m => LogDevice(logger, device, m));
            runs.Add(RunAsync(simulator, stoppingToken));
            string patient = $"demo-{record}";
            LogStarted(logger, device, patient, record);
        }

        await Task.WhenAll(runs);
    }

    private async Task RunAsync(DeviceSimulator simulator, CancellationToken stoppingToken)
    {
        await using (simulator)
        {
            try
            {
                await simulator.RunAsync(progressInterval: null, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // The demo must never take the twin down with it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFailed(logger, simulator.DeviceId, ex);
            }
        }
    }

    private async Task<DeviceCredentialsDto?> RegisterAsync(HttpClient http, string device, string patient, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync("/api/devices?rotate=true", new RegisterDeviceDto { DeviceId = device, PatientId = patient, Kind = "demo-ecg" }, Json, ct);
        if (!response.IsSuccessStatusCode)
        {
            LogRegisterFailed(logger, device, (int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
            return null;
        }

        return await response.Content.ReadFromJsonAsync<DeviceCredentialsDto>(Json, ct);
    }

    private static Dictionary<string, DeviceCredentialsDto> LoadCredentials(string path)
    {
        try
        {
            return File.Exists(path)
                ? JsonSerializer.Deserialize<Dictionary<string, DeviceCredentialsDto>>(File.ReadAllText(path), Json) ?? []
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static string LocalUrl(string address) =>
        address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
               .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
               .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
               .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo device {Device} streams record {Record} for patient {Patient}")]
    private static partial void LogStarted(ILogger logger, string device, string patient, string record);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Device}: {Message}")]
    private static partial void LogDevice(ILogger logger, string device, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Demo device {Device} stopped")]
    private static partial void LogFailed(ILogger logger, string device, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Demo device {Device} could not register: {Status} {Body}")]
    private static partial void LogRegisterFailed(ILogger logger, string device, int status, string body);
}
