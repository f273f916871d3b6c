using System.Net;
using System.Net.Http.Json;
using HeartTwin.Contracts;
using Microsoft.Extensions.Configuration;

namespace HeartTwin.Connector.Tests;

public sealed class HttpIngestionTests
{
    [Fact]
    public async Task Json_batches_of_real_ECG_are_stored_bit_for_bit()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1", "patient-1");
        using var device = host.DeviceClient(credentials.Token);

        for (long seq = 0; seq < 5; seq++)
        {
            var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(seq));
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var result = (await response.Content.ReadFromJsonAsync<IngestResultDto>())!;
            result.ShouldBe(new IngestResultDto(seq, "stored", null));
            // Acknowledged means the subscriber already holds it: no waiting needed.
            host.Recorder.Stored.ContainsKey($"patch-1:{seq}").ShouldBeTrue();
        }

        var stored = host.Recorder.StoredFor("patch-1").ToList();
        stored.Count.ShouldBe(5);
        foreach (var batch in stored)
        {
            batch.ShouldEqualSent(batch.Sequence);
            batch.PatientId.ShouldBe("patient-1");
            batch.Transport.ShouldBe("http");
        }

        var status = await host.Admin.GetFromJsonAsync<DeviceStatusDto>("/api/devices/patch-1");
        status!.LastSequence.ShouldBe(4);
        status.Connected.ShouldBeTrue();
        host.Stats.Accepted.ShouldBe(5);
        host.Stats.Samples.ShouldBe(5 * 2 * Batches.PerBatch);
    }

    [Fact]
    public async Task Binary_batches_are_stored_bit_for_bit()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);

        var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.BinaryContent(7));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        host.Recorder.Stored["patch-1:7"].ShouldEqualSent(7);
    }

    [Fact]
    public async Task Vitals_are_published_and_the_battery_level_shows_in_the_status()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("cuff-1", "patient-3", "bp-cuff");
        using var device = host.DeviceClient(credentials.Token);
        var at = DateTimeOffset.UtcNow.AddSeconds(-5);

        var response = await device.PostAsync("/api/devices/cuff-1/samples", JsonContent.Create(new
        {
            sequence = 1,
            observations = new object[]
            {
                new { code = VitalCodes.SystolicPressure, value = 121.0, unit = "mm[Hg]", time = at },
                new { code = VitalCodes.DiastolicPressure, value = 79.0, time = at },
                new { code = VitalCodes.Battery, value = 64.0, unit = "%", time = at },
            },
        }));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        var vitals = host.Recorder.Vitals.ShouldHaveSingleItem();
        vitals.PatientId.ShouldBe("patient-3");
        vitals.Observations.Select(o => (o.Code, o.Value, o.Unit)).ShouldBe([("systolic", 121.0, "mm[Hg]"), ("diastolic", 79.0, "mm[Hg]"), ("battery", 64.0, "%")]);
        host.Recorder.SampleDeliveries.ShouldBe(0);
        (await host.Admin.GetFromJsonAsync<DeviceStatusDto>("/api/devices/cuff-1"))!.BatteryPercent.ShouldBe(64);
    }

    [Fact]
    public async Task Duplicate_sequence_is_acknowledged_and_not_stored_twice()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);

        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(3))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var again = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(3));

        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await again.Content.ReadFromJsonAsync<IngestResultDto>())!.ShouldBe(new IngestResultDto(3, "duplicate", null));
        host.Recorder.SampleDeliveries.ShouldBe(1);
        host.Stats.Duplicates.ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_copies_of_one_batch_are_stored_once()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => device.PostAsync("/api/devices/patch-1/samples", Batches.Json(9))));
        var results = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<IngestResultDto>()));

        results.Count(r => r!.Status == "stored").ShouldBe(1);
        results.Count(r => r!.Status == "duplicate").ShouldBe(7);
        host.Recorder.SampleDeliveries.ShouldBe(1);
    }

    [Fact]
    public async Task A_gap_is_accepted_reported_in_the_response_and_published()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1", "patient-9");
        using var device = host.DeviceClient(credentials.Token);

        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(10))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(14));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<IngestResultDto>())!.ShouldBe(new IngestResultDto(14, "stored", new SequenceGapDto(11, 14, 3)));
        host.Recorder.Stored.ContainsKey("patch-1:14").ShouldBeTrue();
        var gap = host.Recorder.Gaps.ShouldHaveSingleItem();
        (gap.PatientId, gap.ExpectedSequence, gap.ReceivedSequence, gap.MissingBatches).ShouldBe(("patient-9", 11L, 14L, 3L));
        (await host.Admin.GetFromJsonAsync<DeviceStatusDto>("/api/devices/patch-1"))!.Gaps.ShouldBe(1);
        host.Stats.Gaps.ShouldBe(1);
    }

    [Fact]
    public async Task The_HTTP_urls_the_host_was_given_keep_working_beside_the_MQTT_listener()
    {
        await using var host = await TestHost.StartAsync();

        host.Addresses.ShouldContain(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) && !a.EndsWith($":{host.MqttPort}", StringComparison.Ordinal));
        (await host.Http.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.MqttPort);
        tcp.Connected.ShouldBeTrue();
    }

    [Fact]
    public async Task With_MQTT_disabled_only_the_given_HTTP_url_listens()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Connector:MqttPort"] = "0" });

        host.Addresses.ShouldHaveSingleItem().ShouldStartWith("http://127.0.0.1:");
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_device_token_works_only_on_its_own_device_path()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);

        (await device.PostAsync("/api/devices/patch-9/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await device.GetAsync("/api/devices/patch-9/commands")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await device.GetAsync("/api/devices")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        host.Recorder.SampleDeliveries.ShouldBe(0);
    }

    [Fact]
    public void Http_urls_come_from_urls_then_http_ports_then_the_default()
    {
        static IReadOnlyList<string> Urls(params (string Key, string Value)[] pairs) => ConnectorHostingExtensions.HttpUrls(
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build());

        Urls(("urls", "http://127.0.0.1:5005;http://localhost:5006")).ShouldBe(["http://127.0.0.1:5005", "http://localhost:5006"]);
        Urls(("http_ports", "8080")).ShouldBe(["http://*:8080"]);
        Urls().ShouldBe(["http://localhost:8080"]);
    }
}
