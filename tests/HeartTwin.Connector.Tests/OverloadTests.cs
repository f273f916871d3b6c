using System.Net;
using System.Net.Http.Json;
using HeartTwin.Contracts.Wire;
using MQTTnet;

namespace HeartTwin.Connector.Tests;

public sealed class OverloadTests
{
    private static readonly Dictionary<string, string?> QuickTimeout = new() { ["Connector:AckTimeoutSeconds"] = "0.5", ["Connector:RetryAfterSeconds"] = "1" };

    [Fact]
    public async Task A_slow_subscriber_makes_HTTP_answer_503_with_Retry_After_and_the_retry_is_stored_once()
    {
        await using var host = await TestHost.StartAsync(QuickTimeout);
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);
        var storage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Recorder.BeforeSamples = (_, ct) => storage.Task.WaitAsync(ct);

        var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(1));

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(1));
        (await response.Content.ReadAsStringAsync()).ShouldContain(ErrorCodes.Overloaded);
        (await host.Admin.GetFromJsonAsync<DeviceStatusDto>("/api/devices/patch-1"))!.LastSequence.ShouldBeNull();

        storage.SetResult();
        var retry = await SendUntilAcceptedAsync(device, 1);
        (await retry.Content.ReadFromJsonAsync<IngestResultDto>())!.Status.ShouldBe("stored");
        host.Recorder.StoredFor("patch-1").ShouldHaveSingleItem().ShouldEqualSent(1);
        host.Stats.Overloaded.ShouldBeGreaterThanOrEqualTo(1);
    }

    /// <summary>What a device does: resend on 503 (a busy test machine may stall a delivery past the short timeout).</summary>
    private static async Task<HttpResponseMessage> SendUntilAcceptedAsync(HttpClient device, long sequence)
    {
        for (int attempt = 0; ; attempt++)
        {
            var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(sequence));
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 10)
            {
                response.StatusCode.ShouldBe(HttpStatusCode.OK);
                return response;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_failing_subscriber_makes_HTTP_answer_503()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);
        host.Recorder.BeforeSamples = (_, _) => throw new IOException("disk full");

        var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(1));

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter.ShouldNotBeNull();
        host.Recorder.BeforeSamples = null;
        await SendUntilAcceptedAsync(device, 1);
        host.Recorder.Stored.ContainsKey("patch-1:1").ShouldBeTrue();
    }

    [Fact]
    public async Task Under_an_intermittently_slow_subscriber_nothing_acknowledged_is_lost_or_stored_twice()
    {
        await using var host = await TestHost.StartAsync(QuickTimeout);
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);
        int calls = 0;
        // Every third delivery stalls past the acknowledgement timeout.
        host.Recorder.BeforeSamples = (_, ct) => Interlocked.Increment(ref calls) % 3 == 0 ? Task.Delay(800, ct) : Task.CompletedTask;
        var acknowledged = new List<long>();
        int refusals = 0;

        for (long seq = 0; seq < 12; seq++)
        {
            while (true)
            {
                var response = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(seq));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged.Add(seq);
                    break;
                }

                response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                refusals++;
                await Task.Delay(50);
            }
        }

        refusals.ShouldBeGreaterThan(0);
        await Eventually.TrueAsync(() => host.Recorder.Stored.Count == 12, "late deliveries land");
        foreach (long seq in acknowledged)
        {
            host.Recorder.Stored[$"patch-1:{seq}"].ShouldEqualSent(seq);
        }

        host.Recorder.StoredFor("patch-1").Select(s => s.Sequence).ShouldBe(Enumerable.Range(0, 12).Select(i => (long)i));
        host.Recorder.Gaps.ShouldBeEmpty();
    }

    [Fact]
    public async Task An_overloaded_MQTT_publish_gets_no_PUBACK_and_the_resent_batch_is_stored_once()
    {
        await using var host = await TestHost.StartAsync(QuickTimeout);
        var credentials = await host.RegisterAsync("patch-1");
        var storage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Recorder.BeforeSamples = (_, ct) => storage.Task.WaitAsync(ct);
        var client = await host.ConnectMqttAsync(credentials);

        await Should.ThrowAsync<Exception>(() => client.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-1"), Batches.JsonBytes(1))));
        await Eventually.TrueAsync(() => !client.IsConnected, "the broker drops the connection");
        client.Dispose();

        storage.SetResult();
        using var again = await host.ConnectMqttAsync(credentials);
        (await again.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-1"), Batches.JsonBytes(1)))).IsSuccess.ShouldBeTrue();
        host.Recorder.StoredFor("patch-1").ShouldHaveSingleItem().ShouldEqualSent(1);
    }
}
