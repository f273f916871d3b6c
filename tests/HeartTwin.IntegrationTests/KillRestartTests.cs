using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using HeartTwin.Simulation;

namespace HeartTwin.IntegrationTests;

/// <summary>kill -9 of the whole twin mid-stream: nothing acknowledged is lost or stored twice, and the device resumes.</summary>
[Trait("Issue", "4")]
public sealed class KillRestartTests : IDisposable
{
    private const string Admin = "kill-test-admin-token";
    private readonly string dataDir = Path.Combine(Path.GetTempPath(), "hearttwin-kill-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int httpPort = TestData.FreePort();
    private readonly int mqttPort = TestData.FreePort();
    private Process? host;

    private string BaseUrl => $"http://127.0.0.1:{httpPort}";

    private async Task StartHostAsync()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "HeartTwin.Host.dll"),
                "--urls", BaseUrl, "--mqtt-port", mqttPort.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDir,
                "--Logging:LogLevel:Default=Warning",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["Auth__AdminToken"] = Admin;
        psi.Environment["Auth__SigningKey"] = "kill-test-signing-key-0123456789abcdef";
        host = Process.Start(psi)!;
        host.OutputDataReceived += (_, _) => { };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();

        using var probe = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var r = await probe.GetAsync($"{BaseUrl}/health/ready");
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            host.HasExited.ShouldBeFalse("the host exited during start-up");
            await Task.Delay(200);
        }

        throw new TimeoutException("The host did not become ready in 60 s.");
    }

    private void KillHost()
    {
        // SIGKILL: no shutdown code runs, exactly like kill -9.
        host!.Kill(entireProcessTree: true);
        host.WaitForExit();
        host.Dispose();
        host = null;
    }

    [Fact]
    public async Task Killing_the_host_mid_stream_loses_and_duplicates_no_acknowledged_sample_and_the_device_resumes()
    {
        await StartHostAsync();
        using var admin = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Admin);
        using var reg = await admin.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = "kill-dev", PatientId = "kill-p", Kind = "test" }, TestData.Json);
        var creds = (await reg.Content.ReadFromJsonAsync<DeviceCredentialsDto>(TestData.Json))!;

        var record = Devices.Record("208");
        var start = DateTimeOffset.UtcNow;
        var options = new DeviceSimulatorOptions { DeviceId = creds.DeviceId, Speed = 20, Duration = TimeSpan.FromSeconds(120), StartTime = start };
        var transport = new MqttDeviceTransport("127.0.0.1", mqttPort, creds.DeviceId, creds.MqttPassword, binary: true, log: _ => { });
        await using var simulator = new DeviceSimulator(record, transport, options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var streaming = simulator.RunAsync(null, cts.Token);

        while (simulator.Snapshot().BatchesAcked < 30)
        {
            streaming.IsCompleted.ShouldBeFalse();
            await Task.Delay(20);
        }

        long ackedBeforeKill = simulator.Snapshot().BatchesAcked;
        KillHost();
        await Task.Delay(500);
        await StartHostAsync();

        var stats = await streaming;
        stats.BatchesAcked.ShouldBe(120);
        ackedBeforeKill.ShouldBeLessThan(120L, "the kill must land mid-stream");

        // Everything that was acknowledged is there, once, bit for bit.
        string from = Uri.EscapeDataString(start.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture));
        string to = Uri.EscapeDataString(start.AddSeconds(121).ToString("O", CultureInfo.InvariantCulture));
        using var ecg = await admin.GetAsync($"/api/twins/kill-p/ecg?from={from}&to={to}");
        var json = JsonDocument.Parse(await ecg.Content.ReadAsStringAsync()).RootElement;
        var sequences = new List<long>();
        var lead0 = new List<int>();
        var lead1 = new List<int>();
        foreach (var segment in json.GetProperty("segments").EnumerateArray())
        {
            sequences.Add(segment.GetProperty("sequence").GetInt64());
            var leads = segment.GetProperty("samples").EnumerateArray().ToList();
            lead0.AddRange(leads[0].EnumerateArray().Select(v => v.GetInt32()));
            lead1.AddRange(leads[1].EnumerateArray().Select(v => v.GetInt32()));
        }

        sequences.Count.ShouldBe(120);
        sequences.Distinct().Count().ShouldBe(120);
        lead0.ToArray().ShouldBe(record.Samples[0].AsSpan(0, 120 * 360).ToArray());
        lead1.ToArray().ShouldBe(record.Samples[1].AsSpan(0, 120 * 360).ToArray());
    }

    public void Dispose()
    {
        if (host is not null)
        {
            KillHost();
        }

        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
