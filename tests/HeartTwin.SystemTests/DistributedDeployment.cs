using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using HeartTwin.Testing;

namespace HeartTwin.SystemTests;

/// <summary>
/// The distributed twin as scripts/distributed.sh runs it: Mosquitto and PostgreSQL on loopback, every block's host from its
/// built dll (two replicas each of Acquisition and Agent), and the gateway. Started once for the collection, stopped by the
/// pids the runner recorded.
/// </summary>
public sealed class DistributedDeployment : IAsyncLifetime
{
    public const int Replicas = 2;
    public const int Partitions = 16;

    private readonly string runDir = Path.Combine(Path.GetTempPath(), "hearttwin-system-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int basePort = FreePortBlock();

    public string GatewayUrl { get; private set; } = "";

    public int DeviceMqttPort { get; private set; }

    public string AdminToken { get; private set; } = "";

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    /// <summary>The runner's last output, for assertion messages.</summary>
    public string Output { get; private set; } = "";

    public async Task InitializeAsync()
    {
        File.Exists("/usr/sbin/mosquitto").ShouldBeTrue("mosquitto is not installed: apt-get install -y mosquitto (.ci/run installs it)");
        Directory.Exists("/usr/lib/postgresql").ShouldBeTrue("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run installs it)");
        int rc = await RunAsync("start", "--no-build");
        if (rc != 0)
        {
            string logs = LogTails();
            await RunAsync("stop");
            throw new InvalidOperationException($"scripts/distributed.sh start failed ({rc}): {Output}\n{logs}");
        }

        var env = File.ReadAllLines(Path.Combine(runDir, "env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        GatewayUrl = env["HEARTTWIN_GATEWAY_URL"];
        AdminToken = env["HEARTTWIN_ADMIN_TOKEN"];
        DeviceMqttPort = int.Parse(env["HEARTTWIN_DEVICE_MQTT_PORT"], CultureInfo.InvariantCulture);
        Admin = new HttpClient { BaseAddress = new Uri(GatewayUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        Anonymous = new HttpClient { BaseAddress = new Uri(GatewayUrl) };
    }

    /// <summary>kill -9 of one process of the run (acquisition-1, agent-0 …).</summary>
    public async Task KillAsync(string name) => (await RunAsync("kill", name)).ShouldBe(0, Output);

    /// <summary>Starts one process again with its settings and waits for its /health/ready (broker and postgres too).</summary>
    public async Task RestartAsync(string name) => (await RunAsync("restart", name)).ShouldBe(0, Output);

    /// <summary>The replica of a partitioned block that holds a patient: the MQTT bus's fixed assignment.</summary>
    public static int ReplicaOf(string patientId) => Messaging.Mqtt.MqttTopics.PartitionOf(patientId, Partitions) % Replicas;

    public string LogTails()
    {
        var logs = Path.Combine(runDir, "logs");
        if (!Directory.Exists(logs))
        {
            return "";
        }

        return string.Join('\n', Directory.GetFiles(logs, "*.log").Select(f =>
        {
            var lines = File.ReadAllLines(f);
            return $"== {Path.GetFileName(f)}\n" + string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 15)));
        }));
    }

    private async Task<int> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(SharedTestPaths.RepoRoot, "scripts", "distributed.sh"), .. args])
        {
            WorkingDirectory = SharedTestPaths.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HEARTTWIN_RUN_DIR"] = runDir;
        start.Environment["HEARTTWIN_BASE_PORT"] = basePort.ToString(CultureInfo.InvariantCulture);
        start.Environment["HEARTTWIN_ACQUISITION_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture);
        start.Environment["HEARTTWIN_AGENT_REPLICAS"] = Replicas.ToString(CultureInfo.InvariantCulture);
        start.Environment["HEARTTWIN_PARTITIONS"] = Partitions.ToString(CultureInfo.InvariantCulture);
        start.Environment["HEARTTWIN_STORAGE"] = "postgres";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Output = stdout + await stderr;
        return process.ExitCode;
    }

    /// <summary>A base port whose block (base … base+40) is free on loopback, so parallel runs do not collide.</summary>
    private static int FreePortBlock()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int candidate = Random.Shared.Next(200, 300) * 100;
            if (Enumerable.Range(candidate, 41).All(PortFree))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No free block of 41 loopback ports was found.");
    }

    private static bool PortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        Anonymous?.Dispose();
        await RunAsync("stop");
        try
        {
            Directory.Delete(runDir, recursive: true);
        }
        catch (IOException)
        {
            // A log still being written by a process that ignored stop; the folder is under /tmp.
        }
        catch (UnauthorizedAccessException)
        {
            // PostgreSQL's folder belongs to the postgres user when the tests run as root.
        }
    }
}
