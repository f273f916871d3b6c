using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace HeartTwin.Messaging.Mqtt.Tests;

/// <summary>
/// A real Mosquitto 2.0 on 127.0.0.1 and a free port, with persistence in a temporary folder; stopped by its pid.
/// CI installs it (.ci/run); where it is missing the tests fail and say so.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];
    private readonly string directory;
    private Process? process;

    private MosquittoBroker(string directory, int port)
    {
        this.directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Log => File.Exists(Path.Combine(directory, "mosquitto.log")) ? File.ReadAllText(Path.Combine(directory, "mosquitto.log")) : string.Empty;

    public static async Task<MosquittoBroker> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("hearttwin-mosquitto-").FullName;
        var broker = new MosquittoBroker(dir, FreePort());
        var user = Environment.UserName == "root" ? "user root\n" : string.Empty; // as root, Mosquitto would drop to a user that cannot write here
        await File.WriteAllTextAsync(Path.Combine(dir, "mosquitto.conf"), $"""
            listener {broker.Port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {dir}/
            max_queued_messages 0
            log_dest file {dir}/mosquitto.log
            log_type error
            log_type warning
            log_type notice
            {user}
            """);
        await broker.StartProcessAsync();
        return broker;
    }

    /// <summary>Stops the broker the way a pod is stopped (SIGTERM: it saves its persistence file) and starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    public async Task StopAsync()
    {
        if (process is null || process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
        }

        process.Dispose();
        process = null;
    }

    private async Task StartProcessAsync()
    {
        var exe = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install mosquitto; .ci/run installs it): the MQTT transport tests need a real broker.");
        process = Process.Start(new ProcessStartInfo(exe, ["-c", Path.Combine(directory, "mosquitto.conf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("mosquitto did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}: {Log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"mosquitto did not listen on {Port} within 10 s: {Log}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
