using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using HeartTwin.Simulation;

namespace HeartTwin.SystemTests;

/// <summary>
/// Issue 6's system test: three simulated devices stream into the distributed twin (two replicas each of Acquisition and
/// Agent) while one Acquisition replica is killed with SIGKILL, the broker restarts and then PostgreSQL restarts; the
/// stored samples, the beats, the events and the heart rate are then compared with the one-process twin fed the same input.
/// </summary>
[Collection(SystemTestGroup.Name)]
[Trait("Issue", "6")]
public sealed class DistributedTwinTests(DistributedDeployment cluster, EmbeddedTwin embedded)
{
    /// <summary>Seconds of signal each device streams.</summary>
    private const int SignalSeconds = 120;

    /// <summary>
    /// The distributed devices stream at twice real time, so the faults (each a process restart of several seconds on a
    /// busy machine) fall mid-stream while the suite stays short.
    /// </summary>
    private const double Speed = 2;

    /// <summary>
    /// Signal seconds either side of the kill where the killed replica's patient may differ from the reference: the
    /// replica's per-stream filters and detectors are in memory only, so the replacement warms up again from the first
    /// batch it is given (a few seconds of beats missed), and the batches the dead replica had handled but not yet
    /// acknowledged are handled again from that cold start (beats found a second time, a little shifted). The replica
    /// may lag the devices' acknowledgements by a few seconds too, hence 20 s rather than the warm-up alone.
    /// </summary>
    private static readonly TimeSpan KillWindow = TimeSpan.FromSeconds(20);

    private sealed record Device(string Record, string PatientId, string DeviceId, bool Mqtt);

    // 101: a regular rhythm (the heart rate); 203: ventricular runs and AF (events); 119: bigeminy. The first device uses
    // HTTP through the gateway, the other two MQTT on the Connector's device listener.
    private static readonly Device[] Devices =
    [
        new("101", "sys-p101", "sys-d101", Mqtt: false),
        new("203", "sys-p203", "sys-d203", Mqtt: true),
        new("119", "sys-p119", "sys-d119", Mqtt: true),
    ];

    [Fact]
    public async Task Three_devices_ride_out_a_replica_kill_and_broker_and_database_restarts_and_the_twin_matches_the_one_process_twin()
    {
        // Whole seconds in the past: the same signal times in both twins, and nothing in either twin's future.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds());
        var end = start.AddSeconds(SignalSeconds);
        var records = Devices.ToDictionary(d => d.Record, d => SimulatedRecord.Load(HeartTwin.Testing.SharedTestPaths.MitDb, d.Record));

        // The victim: the Acquisition replica that holds the first patient; the other two patients are on the other
        // replica (the bus's fixed assignment), so they show what the faults that every patient saw did.
        var victim = Devices[0];
        int replica = DistributedDeployment.ReplicaOf(victim.PatientId);
        Devices.Skip(1).ShouldAllBe(d => DistributedDeployment.ReplicaOf(d.PatientId) != replica, "the control patients must be on the other replica");

        // The reference: the one-process twin, as fast as it acknowledges.
        await Task.WhenAll(Devices.Select(async d =>
        {
            var creds = await TwinApi.RegisterAsync(embedded.Admin, d.DeviceId, d.PatientId);
            var transport = d.Mqtt
                ? (IDeviceTransport)new MqttDeviceTransport("127.0.0.1", embedded.MqttPort, creds.DeviceId, creds.MqttPassword, binary: true, log: _ => { })
                : new HttpDeviceTransport(new Uri(embedded.BaseUrl), creds.DeviceId, creds.Token, binary: false, log: _ => { });
            await using var sim = new DeviceSimulator(records[d.Record], transport, Options(d, start, speed: 0));
            var stats = await sim.RunAsync(progressInterval: null, CancellationToken.None);
            stats.BatchesAcked.ShouldBe(SignalSeconds);
        }));

        // The distributed twin, through the gateway (HTTP) and the Connector's device listener (MQTT).
        var simulators = new List<DeviceSimulator>();
        foreach (var d in Devices)
        {
            var creds = await TwinApi.RegisterAsync(cluster.Admin, d.DeviceId, d.PatientId);
            var transport = d.Mqtt
                ? (IDeviceTransport)new MqttDeviceTransport("127.0.0.1", cluster.DeviceMqttPort, creds.DeviceId, creds.MqttPassword, binary: true, log: _ => { })
                : new HttpDeviceTransport(new Uri(cluster.GatewayUrl), creds.DeviceId, creds.Token, binary: false, log: _ => { });
            simulators.Add(new DeviceSimulator(records[d.Record], transport, Options(d, start, Speed)));
        }

        DateTimeOffset killedAt;
        try
        {
            var streaming = simulators.Select(s => s.RunAsync(progressInterval: null, CancellationToken.None)).ToList();

            // Mid-stream: kill -9 the victim's Acquisition replica (and bring it back, as its StatefulSet would), then
            // restart the broker, then PostgreSQL.
            await TwinApi.WaitForAsync(async () => { await Task.Yield(); return simulators[0].Snapshot().BatchesAcked >= 20 ? true : (bool?)null; },
                TimeSpan.FromSeconds(90), "the first 20 batches");
            killedAt = start.AddSeconds(simulators[0].Snapshot().BatchesAcked);
            await cluster.KillAsync($"acquisition-{replica}");
            await Task.Delay(2000);
            await cluster.RestartAsync($"acquisition-{replica}");
            await cluster.RestartAsync("broker");
            await Task.Delay(3000);
            await cluster.RestartAsync("postgres");
            simulators.ShouldContain(s => s.Snapshot().BatchesAcked < SignalSeconds, "the faults must fall while the devices still stream");

            var stats = await Task.WhenAll(streaming);
            foreach (var s in stats)
            {
                s.BatchesSent.ShouldBe(SignalSeconds);
                s.BatchesAcked.ShouldBe(SignalSeconds, "every batch is acknowledged in the end (devices retry through the faults)");
                s.Rejected.ShouldBe(0);
            }
        }
        finally
        {
            foreach (var s in simulators)
            {
                await s.DisposeAsync();
            }
        }

        foreach (var d in Devices)
        {
            var record = records[d.Record];
            string who = $"patient {d.PatientId} (record {d.Record})";

            // No acknowledged sample lost, none stored twice, each patient's batches in order: SamplesQuery through Sharing.
            var segments = await TwinApi.SegmentsAsync(cluster.Admin, d.PatientId, start.AddSeconds(-1), end.AddSeconds(1));
            segments.Select(s => s.Sequence).ShouldBe(Enumerable.Range(0, SignalSeconds).Select(i => (long)i), $"{who}: every acknowledged batch stored once");
            segments.Zip(segments.Skip(1)).ShouldAllBe(p => p.First.StartTime < p.Second.StartTime, $"{who}: batches in signal order");
            int n = (int)(SignalSeconds * record.SampleRateHz);
            for (int lead = 0; lead < record.Leads.Count; lead++)
            {
                segments.SelectMany(s => s.Samples[lead]).ToArray().ShouldBe(record.Samples[lead].AsSpan(0, n).ToArray(), $"{who}: lead {lead} bit for bit");
            }

            // The twin converges: its state covers the end of the signal in both twins, then the same heart rate.
            var reference = await TwinApi.WaitForAsync(() => TwinApi.StateCoveringAsync(embedded.Admin, d.PatientId, end), TimeSpan.FromSeconds(60), $"the reference state of {who}");
            var state = await TwinApi.WaitForAsync(() => TwinApi.StateCoveringAsync(cluster.Admin, d.PatientId, end), TimeSpan.FromSeconds(90), $"the distributed state of {who}");
            double hr = state.GetProperty("heartRateBpm").GetDouble(), referenceHr = reference.GetProperty("heartRateBpm").GetDouble();
            // 2 bpm: the beats of the last seconds are the same (checked below), but each twin's Agent analyses on its own
            // tick, so the two states may end their 10 s averaging span up to a batch apart.
            Math.Abs(hr - referenceHr).ShouldBeLessThan(2.0, $"{who}: distributed {hr:0.0} bpm, one-process {referenceHr:0.0} bpm");

            // The same beats, except near the kill for the killed replica's patient.
            var beats = await TwinApi.BeatsAsync(cluster.Admin, d.PatientId, start.AddSeconds(-1), end.AddSeconds(1));
            var referenceBeats = await TwinApi.BeatsAsync(embedded.Admin, d.PatientId, start.AddSeconds(-1), end.AddSeconds(1));
            bool Outside(DateTimeOffset t) => d != victim || t < killedAt - KillWindow || t > killedAt + KillWindow;
            CompareBeats(who, referenceBeats.Where(b => Outside(b.Time)).ToList(), beats.Where(b => Outside(b.Time)).ToList());
            if (d == victim)
            {
                // Inside the window: at most the warm-up's worth missing (10 s of beats) and no more found twice than that.
                int referenceInside = referenceBeats.Count(b => !Outside(b.Time)), inside = beats.Count(b => !Outside(b.Time));
                double perSecond = referenceBeats.Count / (double)SignalSeconds;
                Math.Abs(inside - referenceInside).ShouldBeLessThanOrEqualTo((int)Math.Ceiling(10 * perSecond),
                    $"{who}: {inside} beats around the kill, {referenceInside} in the one-process twin");
            }

            // The same events: every event the one-process twin raised, of the same type within 5 s, outside the window.
            // Not device-silent: it is raised on the wall clock once a device stops sending, so it depends on when each
            // stream ended (the reference streams as fast as it is acknowledged), not on the heart.
            var events = (await TwinApi.EventsAsync(cluster.Admin, d.PatientId, start.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1)))
                .Where(e => e.Type != EventTypes.DeviceSilent).ToList();
            var referenceEvents = (await TwinApi.EventsAsync(embedded.Admin, d.PatientId, start.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1)))
                .Where(e => e.Type != EventTypes.DeviceSilent).ToList();
            foreach (var e in referenceEvents.Where(e => Outside(e.At)))
            {
                events.ShouldContain(x => x.Type == e.Type && Math.Abs((x.At - e.At).TotalSeconds) <= 5,
                    $"{who}: the one-process twin raised {e.Type} at {e.At:O}; the distributed one raised [{string.Join(", ", events.Select(x => $"{x.Type}@{x.At:HH:mm:ss}"))}]");
            }

            events.Where(e => Outside(e.At)).Select(e => e.Type).Distinct().Order().ShouldBe(
                referenceEvents.Where(e => Outside(e.At)).Select(e => e.Type).Distinct().Order(), $"{who}: the same kinds of events");
        }
    }

    private static DeviceSimulatorOptions Options(Device d, DateTimeOffset start, double speed) =>
        new() { DeviceId = d.DeviceId, Speed = speed, Duration = TimeSpan.FromSeconds(SignalSeconds), StartTime = start };

    /// <summary>
    /// Every reference beat has a distributed beat within 3 ms (one sample at 360 Hz is 2.8 ms) and none is extra; the
    /// classes agree on at least 97 % (the classifier's batches differ between the twins, which may tip a borderline beat).
    /// Since beat-cnn 2.1.0 a class also depends on the beat's timing and the stream's AF state (issue 3): with the AF state
    /// read once per analysis run, 203 agreed on 186 of 207 beats; settled beat by beat, at least 98 % in three local runs
    /// (one under two busy loops) and 202 of 207 in one CI run, whose 5 differing beats were not printed then (they are now).
    /// </summary>
    private static void CompareBeats(string who, List<TwinBeat> reference, List<TwinBeat> actual)
    {
        reference.Count.ShouldBeGreaterThan(50, $"{who}: the one-process twin found beats");
        int matched = 0, sameClass = 0, j = 0;
        var differing = new List<string>();
        foreach (var beat in reference)
        {
            while (j < actual.Count && actual[j].Time < beat.Time.AddMilliseconds(-3))
            {
                j++;
            }

            if (j < actual.Count && actual[j].Time <= beat.Time.AddMilliseconds(3))
            {
                matched++;
                sameClass += actual[j].Class == beat.Class ? 1 : 0;
                if (actual[j].Class != beat.Class)
                {
                    differing.Add($"{(beat.Time - reference[0].Time).TotalSeconds:0.00} s: {beat.Class} here, {actual[j].Class} distributed");
                }

                j++;
            }
        }

        matched.ShouldBe(reference.Count, $"{who}: {reference.Count - matched} of {reference.Count} one-process beats missing");
        actual.Count.ShouldBe(reference.Count, $"{who}: {actual.Count - matched} beats no one-process beat matches");
        ((double)sameClass / matched).ShouldBeGreaterThanOrEqualTo(0.97, $"{who}: classes agree on {sameClass} of {matched}; differing (from the first beat): {string.Join("; ", differing)}");
    }
}
