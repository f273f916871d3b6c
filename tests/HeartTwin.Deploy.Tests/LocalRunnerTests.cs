using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using HeartTwin.Testing;

namespace HeartTwin.Deploy.Tests;

/// <summary>scripts/distributed.sh against the real hosts, a real Mosquitto and PostgreSQL on loopback.</summary>
public sealed class LocalRunnerTests : IDisposable
{
    private readonly string runDir = Path.Combine(Path.GetTempPath(), "hearttwin-runner-test-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int basePort = FreePortBlock();

    [Fact]
    public async Task The_runner_starts_every_service_behind_the_gateway_and_stops_every_process_it_started()
    {
        File.Exists("/usr/sbin/mosquitto").ShouldBeTrue("mosquitto is not installed: apt-get install -y mosquitto (.ci/run installs it)");
        try
        {
            Run("start", "--no-build").ShouldBe(0, Output);
            var env = File.ReadAllLines(Path.Combine(runDir, "env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            using var http = new HttpClient { BaseAddress = new Uri(env["HEARTTWIN_GATEWAY_URL"]) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", env["HEARTTWIN_ADMIN_TOKEN"]);

            // Through the gateway to the Connector, Policy and Sharing, each checking the shared admin token.
            using (var register = await http.PostAsync(new Uri("/api/devices", UriKind.Relative),
                       new StringContent("""{"deviceId":"runner-1","patientId":"p-runner","kind":"ecg-patch"}""", Encoding.UTF8, "application/json")))
            {
                register.StatusCode.ShouldBe(HttpStatusCode.Created, await register.Content.ReadAsStringAsync());
            }

            (await http.GetAsync(new Uri("/api/policy", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await http.GetAsync(new Uri("/fhir/metadata", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);

            // A token Sharing issues is accepted by Policy: the services share the signing key.
            using var issued = await http.PostAsync(new Uri("/api/tokens", UriKind.Relative),
                new StringContent("""{"subject":"reader","scopes":["system/*.rs"]}""", Encoding.UTF8, "application/json"));
            issued.StatusCode.ShouldBe(HttpStatusCode.Created, await issued.Content.ReadAsStringAsync());
            string token = System.Text.Json.JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
            using var withIssued = new HttpRequestMessage(HttpMethod.Get, "/api/policy");
            withIssued.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            (await http.SendAsync(withIssued)).StatusCode.ShouldBe(HttpStatusCode.OK);

            Run("kill", "acquisition-1").ShouldBe(0, Output);
            Run("status").ShouldBe(1, Output); // one process down
            Output.ShouldContain("acquisition-1");
            Run("restart", "acquisition-1").ShouldBe(0, Output);
            Run("status").ShouldBe(0, Output);

            var pids = Directory.GetFiles(Path.Combine(runDir, "pids")).Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            pids.Count.ShouldBe(12); // the broker, PostgreSQL, 2 Acquisition replicas, the 7 other services and the gateway
            Run("stop").ShouldBe(0, Output);
            foreach (var pid in pids)
            {
                Alive(pid).ShouldBeFalse($"pid {pid} outlived stop");
            }
        }
        finally
        {
            Run("stop");
        }
    }

    private string Output { get; set; } = "";

    private int Run(params string[] args)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(SharedTestPaths.RepoRoot, "scripts", "distributed.sh"), .. args])
        {
            WorkingDirectory = SharedTestPaths.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HEARTTWIN_RUN_DIR"] = runDir;
        start.Environment["HEARTTWIN_BASE_PORT"] = basePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["HEARTTWIN_ACQUISITION_REPLICAS"] = "2";
        start.Environment["HEARTTWIN_STORAGE"] = "postgres";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Output = stdout + stderr.Result;
        return process.ExitCode;
    }

    private static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>A base port whose block (base … base+40) is free on loopback, so parallel runs do not collide.</summary>
    private static int FreePortBlock()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            int candidate = Random.Shared.Next(300, 600) * 100;
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

    public void Dispose()
    {
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
        }
    }
}
