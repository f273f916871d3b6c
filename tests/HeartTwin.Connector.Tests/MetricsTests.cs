using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Connector.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task Accepted_duplicate_rejected_and_gap_counts_reach_the_HeartTwin_Connector_meter()
    {
        await using var host = await TestHost.StartAsync();
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Other tests' hosts run alongside: listen to this host's meter only (its factory is the meter's scope).
            if (instrument.Meter.Name == ConnectorStats.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen.AddOrUpdate(instrument.Name, value, (_, n) => n + value));
        listener.Start();

        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(3))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Raw("[]"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        seen.GetValueOrDefault("hearttwin.connector.batches.accepted").ShouldBe(2);
        seen.GetValueOrDefault("hearttwin.connector.batches.duplicate").ShouldBe(1);
        seen.GetValueOrDefault("hearttwin.connector.batches.rejected").ShouldBe(1);
        seen.GetValueOrDefault("hearttwin.connector.sequence.gaps").ShouldBe(1);
        (host.Stats.Accepted, host.Stats.Duplicates, host.Stats.Rejected, host.Stats.Gaps).ShouldBe((2L, 1L, 1L, 1L));
    }
}
