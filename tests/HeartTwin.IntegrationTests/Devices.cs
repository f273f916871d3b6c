using HeartTwin.Contracts.Wire;
using HeartTwin.Simulation;

namespace HeartTwin.IntegrationTests;

/// <summary>Simulated devices streaming shared records into a twin, as the CLI's simulate does.</summary>
internal static class Devices
{
    public static SimulatedRecord Record(string name) => SimulatedRecord.Load(TestData.MitDb, name);

    public static IDeviceTransport Transport(TwinFixture twin, DeviceCredentialsDto creds, bool mqtt) => mqtt
        ? new MqttDeviceTransport("127.0.0.1", twin.MqttPort, creds.DeviceId, creds.MqttPassword, binary: true, log: _ => { })
        : new HttpDeviceTransport(new Uri(twin.BaseUrl), creds.DeviceId, creds.Token, binary: false, log: _ => { });

    /// <summary>Streams <paramref name="duration"/> of a record as fast as the twin acknowledges; returns the stats and the signal's start time.</summary>
    public static async Task<(DeviceStats Stats, DateTimeOffset Start)> StreamAsync(
        TwinFixture twin, DeviceCredentialsDto creds, SimulatedRecord record, bool mqtt, TimeSpan duration, DateTimeOffset? start = null, CancellationToken ct = default)
    {
        var options = new DeviceSimulatorOptions { DeviceId = creds.DeviceId, Speed = 0, Duration = duration, StartTime = start ?? DateTimeOffset.UtcNow };
        await using var simulator = new DeviceSimulator(record, Transport(twin, creds, mqtt), options);
        var stats = await simulator.RunAsync(progressInterval: null, ct);
        return (stats, simulator.SignalStart);
    }
}
