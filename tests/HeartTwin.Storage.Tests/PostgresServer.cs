using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace HeartTwin.Storage.Tests;

/// <summary>
/// A real PostgreSQL 15 cluster of the tests' own, on 127.0.0.1 and a free port, in a temporary folder owned by postgres:
/// initdb, pg_ctl start, and stopped by the postmaster's pid (first line of postmaster.pid). Tests may crash it
/// (<see cref="CrashAsync"/>) and start it again on the same port and data. Without Debian's binaries it fails loudly.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private static readonly bool AsRoot = Environment.UserName == "root";
    private string directory = "";

    public int Port { get; private set; }

    /// <summary>The connection string of a database on this server (superuser postgres, trust authentication).</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Timeout = 5 }.ToString();

    /// <summary>A new empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = "t_" + Guid.NewGuid().ToString("N");
        // Not pooled: a pooled connection may be a dead one from before a test crashed the server.
        await using var admin = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await admin.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")) || !File.Exists(Path.Combine(BinDirectory, "pg_ctl")))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 is not installed ({BinDirectory}/initdb and pg_ctl are missing): the PostgreSQL provider's tests need a real server. " +
                "Install it with `apt-get install -y postgresql` (.ci/run does).");
        }

        directory = Path.Combine(Path.GetTempPath(), "hearttwin-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        if (AsRoot)
        {
            // The server refuses to run as root: the cluster belongs to the postgres user.
            await RunAsync("chown", ["postgres:postgres", directory]);
        }

        await RunAsPostgresAsync("initdb", ["-D", DataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
        for (int attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The free port was taken by a parallel test between our probe and the server's bind; try another.
            }
        }
    }

    private string DataDirectory => Path.Combine(directory, "data");

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it accepts connections.</summary>
    public Task StartAsync() => RunAsPostgresAsync("pg_ctl",
    [
        "-D", DataDirectory, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60",
        "-o", $"-c listen_addresses=127.0.0.1 -p {Port.ToString(CultureInfo.InvariantCulture)} -k {directory} -c max_connections=200", "start",
    ]);

    /// <summary>Immediate shutdown (SIGQUIT to the postmaster): no checkpoint, as a crash; the next start runs crash recovery.</summary>
    public Task CrashAsync() => SignalAsync("QUIT");

    /// <summary>Fast shutdown (SIGINT to the postmaster), as <c>pg_ctl stop -m fast</c>.</summary>
    public Task StopAsync() => SignalAsync("INT");

    private async Task SignalAsync(string signal)
    {
        string pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        string pid = (await File.ReadAllLinesAsync(pidFile))[0].Trim();
        await RunAsync("kill", ["-" + signal, pid]);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Directory.Exists("/proc/" + pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"PostgreSQL (pid {pid}) did not stop within 60 s of SIG{signal}.");
            }

            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task RunAsPostgresAsync(string tool, string[] args) => AsRoot
        ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, tool), .. args])
        : RunAsync(Path.Combine(BinDirectory, tool), args);

    private async Task RunAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            string log = Path.Combine(directory, "server.log");
            string tail = File.Exists(log) ? string.Join('\n', (await File.ReadAllLinesAsync(log)).TakeLast(10)) : "";
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}{(tail.Length > 0 ? "\nserver.log:\n" + tail : "")}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
