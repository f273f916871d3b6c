using System.Collections.Concurrent;
using HeartTwin.Cli.Simulation;
using HeartTwin.Simulation;

namespace HeartTwin.Cli.Load;

/// <summary>What <see cref="LoadRunner"/> does.</summary>
internal sealed record LoadOptions
{
    public required int Patients { get; init; }
    public required TimeSpan Duration { get; init; }
    public required Uri Url { get; init; }
    public required string MqttHost { get; init; }
    public required int MqttPort { get; init; }
    public required string AdminToken { get; init; }
    public required IReadOnlyList<SimulatedRecord> Records { get; init; }
    public int BatchMs { get; init; } = 1000;
    public string Prefix { get; init; } = "load";
    /// <summary>Follow the SSE stream of the first this-many patients for the arrival-to-alert latency.</summary>
    public int StreamPatients { get; init; } = 100;
}

/// <summary>
/// Drives N simulated devices over MQTT in real time. One timer turns a <see cref="TimerWheel{T}"/> that spreads the devices'
/// batch times over the batch period; a due device sends on the thread pool (async all the way), so N devices cost N MQTT
/// connections but no thread each. A device that is still waiting for an acknowledgement when its next batch falls due
/// queues it and sends it right after: its lag grows, and it no longer counts as real time.
/// </summary>
internal sealed class LoadRunner
{
    private readonly LoadOptions _options;
    private readonly Action<string> _log;
    private readonly TimeProvider _time;

    public LoadRunner(LoadOptions options, Action<string> log, TimeProvider? time = null)
    {
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
    }

    internal sealed class PacedDevice(DeviceSimulator simulator, string patientId)
    {
        private readonly ConcurrentQueue<DateTimeOffset> _due = new();
        private int _running;

        public DeviceSimulator Simulator { get; } = simulator;
        public string PatientId { get; } = patientId;
        public string? Failure { get; private set; }
        public Task Pump { get; private set; } = Task.CompletedTask;

        /// <summary>A batch fell due: send it now, or after the one in flight.</summary>
        public void Due(DateTimeOffset at, CancellationToken cancellationToken)
        {
            _due.Enqueue(at);
            if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            {
                Pump = Task.Run(() => PumpAsync(cancellationToken), CancellationToken.None);
            }
        }

        private async Task PumpAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                while (Failure is null && _due.TryDequeue(out var due))
                {
                    try
                    {
                        await Simulator.SendNextAsync(due, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (DeviceRejectedException e)
                    {
                        Failure = e.Message;
                    }
                }

                Volatile.Write(ref _running, 0);
                // A batch may have fallen due between the last dequeue and releasing the flag.
                if (_due.IsEmpty || cancellationToken.IsCancellationRequested || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
                {
                    return;
                }
            }
        }
    }

    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken)
    {
        var o = _options;
        var errors = new ConcurrentQueue<string>();
        var stored = new LatencyHistogram();
        // The same acknowledgements, for the last progress interval only: the cumulative p99 hides whether the tail is the
        // start-up burst or lasts the whole run.
        var recent = new LatencyHistogram();
        var alerts = new LatencyHistogram();
        var recentAlerts = new LatencyHistogram();
        using var admin = new TwinAdminClient(o.Url, o.AdminToken);

        // 1. Register every device (a few at a time: registration is not what is measured).
        _log($"Registering {o.Patients} devices …");
        var devices = new PacedDevice[o.Patients];
        var registered = new Contracts.Wire.DeviceCredentialsDto[o.Patients];
        await Parallel.ForAsync(0, o.Patients, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            registered[i] = await admin.RegisterAsync(DeviceId(o.Prefix, i), PatientId(o.Prefix, i), ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        // 2. Connect every device; each starts at its own offset in a shared record so that the patients differ.
        _log($"Connecting {o.Patients} MQTT devices …");
        var start = _time.GetUtcNow();
        for (int i = 0; i < o.Patients; i++)
        {
            var record = o.Records[i % o.Records.Count];
            var options = new DeviceSimulatorOptions
            {
                DeviceId = registered[i].DeviceId,
                BatchMs = o.BatchMs,
                Loop = true,
                Duration = null,
                StartOffsetSamples = (long)i * 7919 % Math.Max(1, record.Length),
                StartTime = start,
            };
            var transport = new MqttDeviceTransport(o.MqttHost, o.MqttPort, registered[i].MqttUsername, registered[i].MqttPassword, binary: false, _log);
            var simulator = new DeviceSimulator(record, transport, options, _time, _log) { Acknowledged = (_, latency) => { stored.Record(latency); Volatile.Read(ref recent).Record(latency); } };
            devices[i] = new PacedDevice(simulator, registered[i].PatientId);
        }

        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (d, ct) => await d.Simulator.StartAsync(ct).ConfigureAwait(false)).ConfigureAwait(false);

        // 3. Follow alerts of a subset.
        using var streams = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int streamed = Math.Min(o.StreamPatients, o.Patients);
        long alertCount = 0;
        var streamTasks = devices.Take(streamed).Select(d => Task.Run(async () =>
        {
            try
            {
                await foreach (var (name, data) in admin.StreamAsync(d.PatientId, streams.Token).ConfigureAwait(false))
                {
                    if (name == "action" && SseReader.TryAlertLatency(data, out var latency))
                    {
                        Interlocked.Increment(ref alertCount);
                        alerts.Record(latency);
                        Volatile.Read(ref recentAlerts).Record(latency);
                    }
                }
            }
            catch (OperationCanceledException) when (streams.IsCancellationRequested)
            {
            }
            catch (HttpRequestException e)
            {
                errors.Enqueue($"stream of {d.PatientId}: {e.Message}");
            }
        }, CancellationToken.None)).ToList();

        // 4. Turn the wheel for the duration.
        _log($"Streaming {o.Patients} patients for {o.Duration.TotalSeconds:0} s …");
        var period = devices[0].Simulator.BatchPeriod;
        var wheel = new TimerWheel<PacedDevice>(period, Math.Clamp(o.Patients, 1, 100));
        for (int i = 0; i < devices.Length; i++)
        {
            wheel.Add(devices[i], i);
        }

        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long origin = _time.GetTimestamp();
        var originWall = _time.GetUtcNow();
        using (var timer = new PeriodicTimer(wheel.Tick, _time))
        {
            var lastProgress = TimeSpan.Zero;
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    var elapsed = _time.GetElapsedTime(origin);
                    if (elapsed > o.Duration)
                    {
                        break;
                    }

                    foreach (var (device, due) in wheel.Advance(elapsed))
                    {
                        device.Due(originWall + due, sending.Token);
                    }

                    if (elapsed - lastProgress >= TimeSpan.FromSeconds(10))
                    {
                        lastProgress = elapsed;
                        var interval = Interlocked.Exchange(ref recent, new LatencyHistogram());
                        var intervalAlerts = Interlocked.Exchange(ref recentAlerts, new LatencyHistogram());
                        string alertTail = intervalAlerts.Count > 0 ? $" (last 10 s: {intervalAlerts.Count}, max {LoadReport.Ms(intervalAlerts.Max)} ms)" : "";
                        _log($"  {elapsed.TotalSeconds:0} s: acked p99 {LoadReport.Ms(stored.Percentile(99))} ms (last 10 s: p99 {LoadReport.Ms(interval.Percentile(99))} ms, max {LoadReport.Ms(interval.Max)} ms), alerts {Interlocked.Read(ref alertCount)}{alertTail}");
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                errors.Enqueue("stopped before the end (Ctrl+C)");
            }
        }

        // 5. Let the batches in flight finish, then give alerts a moment to arrive.
        var drain = Task.WhenAll(devices.Select(d => d.Pump));
        if (await Task.WhenAny(drain, Task.Delay(TimeSpan.FromSeconds(15), _time, CancellationToken.None)).ConfigureAwait(false) != drain)
        {
            errors.Enqueue("some batches were still unacknowledged 15 s after the end");
        }

        await sending.CancelAsync().ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(2), _time, CancellationToken.None).ConfigureAwait(false);
        await streams.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(streamTasks).ConfigureAwait(false);

        var stats = devices.Select(d => d.Simulator.Snapshot()).ToList();
        foreach (var d in devices)
        {
            await d.Simulator.DisposeAsync().ConfigureAwait(false);
            if (d.Failure is not null)
            {
                errors.Enqueue(d.Failure);
            }
        }

        // 6. Read back what was stored.
        long? storedSamples;
        long storedTotal = 0;
        try
        {
            await Parallel.ForAsync(0, devices.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var d = devices[i].Simulator;
                long count = await admin.CountStoredSamplesAsync(devices[i].PatientId, d.SignalStart, d.SignalEnd.AddMilliseconds(1), ct).ConfigureAwait(false);
                Interlocked.Add(ref storedTotal, count);
            }).ConfigureAwait(false);
            storedSamples = Interlocked.Read(ref storedTotal);
        }
        catch (HttpRequestException e)
        {
            errors.Enqueue($"reading stored samples failed: {e.Message}");
            storedSamples = null;
        }

        long acked = stats.Sum(s => s.SamplesAcked);
        var batchPeriod = period;
        return new LoadReport
        {
            Patients = o.Patients,
            DurationSeconds = o.Duration.TotalSeconds,
            Leads = o.Records[0].Leads.Count,
            SampleRateHz = o.Records[0].SampleRateHz,
            PatientsInRealTime = stats.Count(s => s.BatchesAcked == s.BatchesSent && s.MaxLag <= batchPeriod),
            BatchesSent = stats.Sum(s => s.BatchesSent),
            BatchesAcknowledged = stats.Sum(s => s.BatchesAcked),
            Retries = stats.Sum(s => s.Retries),
            Rejected = stats.Sum(s => s.Rejected),
            SamplesSent = stats.Sum(s => s.SamplesSent),
            SamplesAcknowledged = acked,
            SamplesStored = storedSamples,
            SamplesLost = storedSamples is { } st ? Math.Max(0, acked - st) : null,
            StoredP50Ms = LoadReport.Ms(stored.Percentile(50)),
            StoredP99Ms = LoadReport.Ms(stored.Percentile(99)),
            StoredMaxMs = stored.Count == 0 ? null : LoadReport.Ms(stored.Max),
            Alerts = Interlocked.Read(ref alertCount),
            PatientsStreamed = streamed,
            AlertP50Ms = LoadReport.Ms(alerts.Percentile(50)),
            AlertP99Ms = LoadReport.Ms(alerts.Percentile(99)),
            MaxLagMs = LoadReport.Ms(stats.Max(s => s.MaxLag)),
            Errors = errors.Distinct(StringComparer.Ordinal).Take(20).ToList(),
        };
    }

    public static string DeviceId(string prefix, int index) => $"{prefix}-{index + 1:D4}";

    public static string PatientId(string prefix, int index) => $"{prefix}-p{index + 1:D4}";
}
