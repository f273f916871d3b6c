using HeartTwin.Simulation;
using System.CommandLine;
using System.Globalization;
using HeartTwin.Cli.Commands;

namespace HeartTwin.Cli.Simulation;

/// <summary>
/// <c>hearttwin simulate</c>: streams a WFDB or EDF record to the twin as a device would, over MQTT or HTTP, and acts as the
/// device's actuator. Exit 0 when the stream ended (or Ctrl+C stopped it), 1 when the twin refused the device, 2 for bad arguments.
/// </summary>
internal static class SimulateCommand
{
    public const int Refused = 1;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = new Option<string>("--db") { Description = "Folder holding the record (WFDB .hea/.dat, or an EDF file).", Required = true };
        var record = new Option<string>("--record") { Description = "Record name (100), or an EDF file name in --db.", Required = true };
        var device = new Option<string>("--device") { Description = "Device id (registered with POST /api/devices).", Required = true };
        var token = new Option<string>("--token") { Description = "The device's secret: the HTTP bearer token, or the MQTT password (username = device id).", Required = true };
        var mqtt = new Option<string?>("--mqtt") { Description = "Stream over MQTT to HOST:PORT." };
        var http = new Option<string?>("--http") { Description = "Stream over HTTP to this base URL (http://127.0.0.1:8080)." };
        var speed = new Option<double>("--speed") { Description = "1 = real time, X = X times faster, 0 = as fast as acknowledged.", DefaultValueFactory = _ => 1 };
        var loop = new Option<bool>("--loop") { Description = "Replay the record forever, with continuing sequence numbers and time." };
        var batchMs = new Option<int>("--batch-ms") { Description = "Signal time per batch, ms.", DefaultValueFactory = _ => 1000 };
        var binary = new Option<bool>("--binary") { Description = "Send the compact binary form (int16) instead of JSON." };
        var startSequence = new Option<long>("--start-sequence") { Description = "Sequence number of the first batch (continue where a previous run stopped).", DefaultValueFactory = _ => 0 };
        var duration = new Option<double?>("--duration") { Description = "Stop after S seconds of signal." };
        var command = new Command("simulate", "Stream a WFDB or EDF record to the twin as a device would (MQTT or HTTP), and acknowledge the commands it receives.")
        {
            db, record, device, token, mqtt, http, speed, loop, batchMs, binary, startSequence, duration,
        };
        command.SetAction((parse, cancellationToken) => Task.Run(
            () => CommandErrors.Guard(stderr, () => RunAsync(
                new Arguments(
                    parse.GetValue(db)!, parse.GetValue(record)!, parse.GetValue(device)!, parse.GetValue(token)!,
                    parse.GetValue(mqtt), parse.GetValue(http), parse.GetValue(speed), parse.GetValue(loop), parse.GetValue(batchMs),
                    parse.GetValue(binary), parse.GetValue(startSequence), parse.GetValue(duration)),
                stdout, stderr, cancellationToken).GetAwaiter().GetResult()),
            CancellationToken.None));
        return command;
    }

    internal sealed record Arguments(
        string Db, string Record, string Device, string Token, string? Mqtt, string? Http, double Speed, bool Loop, int BatchMs,
        bool Binary, long StartSequence, double? DurationSeconds);

    internal static async Task<int> RunAsync(Arguments a, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        Validate(a);
        var record = SimulatedRecord.Load(a.Db, a.Record);
        var output = TextWriter.Synchronized(stdout);
        Action<string> log = output.WriteLine;
        IDeviceTransport transport = a.Mqtt is not null
            ? new MqttDeviceTransport(ParseEndpoint(a.Mqtt).Host, ParseEndpoint(a.Mqtt).Port, a.Device, a.Token, a.Binary, log)
            : new HttpDeviceTransport(ParseUrl(a.Http!), a.Device, a.Token, a.Binary, log);
        var options = new DeviceSimulatorOptions
        {
            DeviceId = a.Device,
            BatchMs = a.BatchMs,
            Speed = a.Speed,
            Loop = a.Loop,
            StartSequence = a.StartSequence,
            Duration = a.DurationSeconds is { } d ? TimeSpan.FromSeconds(d) : null,
        };
        var inv = CultureInfo.InvariantCulture;
        await using var simulator = new DeviceSimulator(record, transport, options, TimeProvider.System, log);
        output.WriteLine(string.Create(inv,
            $"Streaming record {record.Name} ({record.Leads.Count} leads: {string.Join(", ", record.Leads.Select(l => l.Name))}; {record.SampleRateHz} Hz; {record.Length / record.SampleRateHz:0.#} s) as device {a.Device} over {transport.Name}, {simulator.SamplesPerBatch} samples per lead per batch, speed {(a.Speed == 0 ? "as fast as acknowledged" : $"{a.Speed}x")}{(a.Loop ? ", looping" : string.Empty)}"));
        int code = 0;
        DeviceStats stats;
        try
        {
            stats = await simulator.RunAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
        catch (DeviceRejectedException e)
        {
            stderr.WriteLine($"hearttwin: {e.Message}");
            stats = simulator.Snapshot();
            code = Refused;
        }

        output.WriteLine(string.Create(inv,
            $"Summary: batches sent {stats.BatchesSent}, acked {stats.BatchesAcked}, duplicates {stats.Duplicates}, retries {stats.Retries}, rejected {stats.Rejected}, commands {stats.Commands}; samples sent {stats.SamplesSent}, acked {stats.SamplesAcked}; signal {stats.SignalTime.TotalSeconds:0.###} s; next sequence {a.StartSequence + stats.BatchesSent}{(cancellationToken.IsCancellationRequested ? " (stopped)" : string.Empty)}"));
        return code;
    }

    private static void Validate(Arguments a)
    {
        if ((a.Mqtt is null) == (a.Http is null))
        {
            throw new UsageException("Give exactly one of --mqtt HOST:PORT or --http URL.");
        }

        if (a.Speed < 0 || double.IsNaN(a.Speed) || double.IsInfinity(a.Speed))
        {
            throw new UsageException("--speed must be 0 (as fast as acknowledged) or a positive factor.");
        }

        if (a.BatchMs is < 1 or > 60_000)
        {
            throw new UsageException("--batch-ms must be between 1 and 60000.");
        }

        if (a.StartSequence < 0)
        {
            throw new UsageException("--start-sequence must be 0 or more.");
        }

        if (a.DurationSeconds is { } d && !(d > 0))
        {
            throw new UsageException("--duration must be a positive number of seconds.");
        }

        if (string.IsNullOrWhiteSpace(a.Device) || string.IsNullOrEmpty(a.Token))
        {
            throw new UsageException("--device and --token must not be empty.");
        }

        if (a.Mqtt is not null)
        {
            ParseEndpoint(a.Mqtt);
        }
        else
        {
            ParseUrl(a.Http!);
        }
    }

    /// <summary>Parses HOST:PORT.</summary>
    /// <exception cref="UsageException">Not HOST:PORT with a port in 1–65535.</exception>
    internal static (string Host, int Port) ParseEndpoint(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new UsageException($"'{value}' is not HOST:PORT (for example 127.0.0.1:1883).");
        }

        return (value[..colon].Trim('[', ']'), port);
    }

    /// <summary>Parses an absolute http(s) base URL, with a trailing slash so that relative paths append to it.</summary>
    /// <exception cref="UsageException">Not an absolute http or https URL.</exception>
    internal static Uri ParseUrl(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"'{value}' is not an http:// or https:// URL.");
        }

        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }
}
