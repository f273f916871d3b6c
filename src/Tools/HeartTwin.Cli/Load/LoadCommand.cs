using System.CommandLine;
using HeartTwin.Cli.Commands;
using HeartTwin.Cli.Simulation;
using HeartTwin.Simulation;

namespace HeartTwin.Cli.Load;

/// <summary>
/// <c>hearttwin load</c>: registers N devices, streams N patients over MQTT in real time and reports what the twin sustained.
/// Exit 0 when every acknowledged sample was found stored; 1 otherwise; 2 for bad arguments.
/// </summary>
internal static class LoadCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var patients = new Option<int>("--patients") { Description = "Simulated patients (one device each).", Required = true };
        var duration = new Option<double>("--duration") { Description = "Seconds to stream.", DefaultValueFactory = _ => 60 };
        var url = new Option<string>("--url") { Description = "The twin's HTTP base URL.", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var mqtt = new Option<string>("--mqtt") { Description = "The twin's MQTT endpoint, HOST:PORT.", DefaultValueFactory = _ => "127.0.0.1:1883" };
        var adminToken = new Option<string>("--admin-token") { Description = "The twin's admin token (Auth:AdminToken).", Required = true };
        var db = new Option<string?>("--db") { Description = "WFDB folder of the records to stream; default: HEARTTWIN_MITDB or shared/data/mitdb above the current folder." };
        var records = new Option<string?>("--records") { Description = "Comma-separated records, shared round-robin by the patients; default: the first 8 in RECORDS." };
        var leads = new Option<int>("--leads") { Description = "Leads per device (the record's first N).", DefaultValueFactory = _ => 2 };
        var rate = new Option<double>("--rate") { Description = "Expected sampling rate, Hz (records at another rate are refused).", DefaultValueFactory = _ => 360 };
        var batchMs = new Option<int>("--batch-ms") { Description = "Signal time per batch, ms.", DefaultValueFactory = _ => 1000 };
        var streamPatients = new Option<int>("--stream-patients") { Description = "Follow the SSE stream of this many patients for the arrival-to-alert latency.", DefaultValueFactory = _ => 100 };
        var prefix = new Option<string>("--prefix") { Description = "Device ids are PREFIX-0001 …, patients PREFIX-p0001 … (use a new one against a twin that already has them).", DefaultValueFactory = _ => "load" };
        var format = CommonOptions.Format();
        var command = new Command("load", "Drive N simulated devices over MQTT in real time and measure what the twin sustains: samples sent, acknowledged, stored and lost; arrival-to-stored and arrival-to-alert latency.")
        {
            patients, duration, url, mqtt, adminToken, db, records, leads, rate, batchMs, streamPatients, prefix, format,
        };
        command.SetAction((parse, cancellationToken) => Task.Run(
            () => CommandErrors.Guard(stderr, () =>
            {
                var options = Options(
                    parse.GetValue(patients), parse.GetValue(duration), parse.GetValue(url)!, parse.GetValue(mqtt)!, parse.GetValue(adminToken)!,
                    parse.GetValue(db), parse.GetValue(records), parse.GetValue(leads), parse.GetValue(rate), parse.GetValue(batchMs),
                    parse.GetValue(streamPatients), parse.GetValue(prefix)!);
                var log = TextWriter.Synchronized(parse.GetValue(format) == "json" ? stderr : stdout);
                LoadReport report;
                try
                {
                    report = new LoadRunner(options, log.WriteLine).RunAsync(cancellationToken).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is DeviceRejectedException or HttpRequestException)
                {
                    stderr.WriteLine($"hearttwin: {e.Message}");
                    return 1;
                }

                CommonOptions.WriteReport(parse.GetValue(format), report, LoadReport.Json, (r, w) => r.WriteTable(w), stdout);
                return report.ExitCode;
            }),
            CancellationToken.None));
        return command;
    }

    internal static LoadOptions Options(
        int patients, double durationSeconds, string url, string mqtt, string adminToken, string? db, string? records, int leads, double rate,
        int batchMs, int streamPatients, string prefix)
    {
        if (patients is < 1 or > 100_000)
        {
            throw new UsageException("--patients must be between 1 and 100000.");
        }

        if (!(durationSeconds > 0))
        {
            throw new UsageException("--duration must be a positive number of seconds.");
        }

        if (leads is < 1 or > 16)
        {
            throw new UsageException("--leads must be between 1 and 16.");
        }

        if (batchMs is < 10 or > 60_000)
        {
            throw new UsageException("--batch-ms must be between 10 and 60000.");
        }

        var (host, port) = SimulateCommand.ParseEndpoint(mqtt);
        var baseUrl = SimulateCommand.ParseUrl(url);
        var folder = db ?? FindSharedDatabase() ?? throw new UsageException("No --db given, and neither HEARTTWIN_MITDB nor shared/data/mitdb was found.");
        var database = HeartTwin.Signals.Wfdb.WfdbDatabase.Open(folder);
        var names = records is null ? database.Records.Take(8).ToList() : records.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (names.Count == 0)
        {
            throw new UsageException("--records names no record.");
        }

        var loaded = new List<SimulatedRecord>();
        foreach (var name in names)
        {
            var record = SimulatedRecord.Load(folder, name);
            if (Math.Abs(record.SampleRateHz - rate) > 1e-6)
            {
                throw new UsageException($"Record {name} is sampled at {record.SampleRateHz} Hz, not the --rate {rate} Hz.");
            }

            if (record.Leads.Count < leads)
            {
                throw new UsageException($"Record {name} has {record.Leads.Count} leads, fewer than --leads {leads}.");
            }

            loaded.Add(record.FirstLeads(leads));
        }

        return new LoadOptions
        {
            Patients = patients,
            Duration = TimeSpan.FromSeconds(durationSeconds),
            Url = baseUrl,
            MqttHost = host,
            MqttPort = port,
            AdminToken = adminToken,
            Records = loaded,
            BatchMs = batchMs,
            Prefix = prefix,
            StreamPatients = Math.Max(0, streamPatients),
        };
    }

    private static string? FindSharedDatabase()
    {
        var env = Environment.GetEnvironmentVariable("HEARTTWIN_MITDB");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data", "mitdb");
                if (File.Exists(Path.Combine(candidate, "RECORDS")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
