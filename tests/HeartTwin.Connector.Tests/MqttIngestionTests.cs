using System.Buffers;
using System.Collections.Concurrent;
using HeartTwin.Contracts.Wire;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Protocol;

namespace HeartTwin.Connector.Tests;

public sealed class MqttIngestionTests
{
    [Fact]
    public async Task A_host_with_devices_connected_stops_at_once_and_closes_their_connections()
    {
        var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("dev-stopping");
        using var client = await host.ConnectMqttAsync(credentials);
        client.IsConnected.ShouldBeTrue();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await host.DisposeAsync();

        // Kestrel waits for its open connections when it stops; an MQTT connection left open made every shutdown with a
        // device connected last the host's whole shutdown timeout (30 s).
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 100 && client.IsConnected; i++)
        {
            await Task.Delay(50);
        }

        client.IsConnected.ShouldBeFalse();
    }

    [Fact]
    public async Task QoS1_batches_in_JSON_and_binary_are_stored_bit_for_bit_before_their_PUBACK()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1", "patient-4");
        using var client = await host.ConnectMqttAsync(credentials);
        string topic = DeviceTopics.Samples("patch-1");

        (await client.PublishAsync(TestHost.Message(topic, Batches.JsonBytes(0)))).IsSuccess.ShouldBeTrue();
        host.Recorder.Stored.ContainsKey("patch-1:0").ShouldBeTrue();
        (await client.PublishAsync(TestHost.Message(topic, Batches.Binary(1)))).IsSuccess.ShouldBeTrue();
        host.Recorder.Stored.ContainsKey("patch-1:1").ShouldBeTrue();

        foreach (var batch in host.Recorder.StoredFor("patch-1"))
        {
            batch.ShouldEqualSent(batch.Sequence);
            batch.Transport.ShouldBe("mqtt");
            batch.PatientId.ShouldBe("patient-4");
        }
    }

    [Fact]
    public async Task The_PUBACK_of_a_QoS1_publish_is_sent_only_after_the_bus_publish_completed()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var client = await host.ConnectMqttAsync(credentials);
        var storage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Recorder.BeforeSamples = (_, ct) => storage.Task.WaitAsync(ct);

        var publish = client.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-1"), Batches.JsonBytes(0)));
        await Eventually.TrueAsync(() => host.Recorder.SampleDeliveries == 1, "the subscriber received the batch");
        await Task.Delay(300);
        publish.IsCompleted.ShouldBeFalse("the PUBACK must wait for the subscriber to finish");

        storage.SetResult();
        (await publish).IsSuccess.ShouldBeTrue();
        host.Recorder.Stored.ContainsKey("patch-1:0").ShouldBeTrue();
    }

    [Fact]
    public async Task Vitals_and_gaps_over_MQTT_are_published_like_over_HTTP()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("monitor-1", "patient-2", "bedside-monitor");
        using var client = await host.ConnectMqttAsync(credentials);
        string topic = DeviceTopics.Samples("monitor-1");
        var at = DateTimeOffset.UtcNow.AddSeconds(-1);

        (await client.PublishAsync(TestHost.Message(topic, Batches.JsonBytes(1)))).IsSuccess.ShouldBeTrue();
        var vitals = new { sequence = 4, observations = new[] { new { code = "spo2", value = 97.0, unit = "%", time = at }, new { code = "pulse", value = 72.0, unit = "/min", time = at } } };
        (await client.PublishAsync(TestHost.Message(topic, Batches.ToJson(vitals)))).IsSuccess.ShouldBeTrue();

        var received = host.Recorder.Vitals.ShouldHaveSingleItem();
        (received.DeviceId, received.PatientId, received.Sequence).ShouldBe(("monitor-1", "patient-2", 4L));
        received.Observations.Select(o => o.Code).ShouldBe(["spo2", "pulse"]);
        var gap = host.Recorder.Gaps.ShouldHaveSingleItem();
        (gap.ExpectedSequence, gap.ReceivedSequence).ShouldBe((2L, 4L));
    }

    [Fact]
    public async Task A_duplicate_over_MQTT_is_acknowledged_and_not_stored_twice()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var client = await host.ConnectMqttAsync(credentials);

        (await client.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-1"), Batches.Binary(3)))).IsSuccess.ShouldBeTrue();
        (await client.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-1"), Batches.Binary(3)))).IsSuccess.ShouldBeTrue();

        host.Recorder.SampleDeliveries.ShouldBe(1);
        host.Stats.Duplicates.ShouldBe(1);
    }

    [Theory]
    [InlineData("garbage", ErrorCodes.Malformed, null)]
    [InlineData("wrong lead count", ErrorCodes.InvalidSamples, 8L)]
    [InlineData("replayed sequence", ErrorCodes.ReplayedSequence, 1L)]
    [InlineData("corrupt binary", ErrorCodes.Malformed, null)]
    public async Task A_bad_message_on_MQTT_is_dropped_counted_and_reported_on_the_errors_topic(string @case, string code, long? sequence)
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var client = await host.ConnectMqttAsync(credentials);
        var errors = await CollectAsync(client, DeviceTopics.Errors("patch-1"));
        string topic = DeviceTopics.Samples("patch-1");
        (await client.PublishAsync(TestHost.Message(topic, Batches.JsonBytes(2)))).IsSuccess.ShouldBeTrue();

        byte[] payload = @case switch
        {
            "garbage" => [0x00, 0xff, 0x13, 0x37, (byte)'{', (byte)'x'],
            "wrong lead count" => Batches.ToJson(WithOneArray(Batches.Dto(8))),
            "replayed sequence" => Batches.JsonBytes(1),
            _ => Batches.Binary(9)[..50],
        };
        await client.PublishAsync(TestHost.Message(topic, payload));

        await Eventually.TrueAsync(() => !errors.IsEmpty, "an error is reported on the errors topic");
        errors.TryPeek(out var error).ShouldBeTrue();
        error!.Error.ShouldBe(code);
        error.Sequence.ShouldBe(sequence);
        error.Detail.ShouldNotBeNullOrWhiteSpace();
        host.Recorder.SampleDeliveries.ShouldBe(1);
        host.Stats.RejectedByReason.GetValueOrDefault(code).ShouldBe(1);
        client.IsConnected.ShouldBeTrue();

        // The device goes on: the next good batch is stored.
        (await client.PublishAsync(TestHost.Message(topic, Batches.JsonBytes(3)))).IsSuccess.ShouldBeTrue();
        host.Recorder.Stored.ContainsKey("patch-1:3").ShouldBeTrue();
    }

    [Fact]
    public async Task A_device_may_neither_publish_to_nor_subscribe_to_another_devices_topics()
    {
        await using var host = await TestHost.StartAsync();
        var one = await host.RegisterAsync("patch-1");
        await host.RegisterAsync("patch-2");
        using var client = await host.ConnectMqttAsync(one);
        var errors = await CollectAsync(client, DeviceTopics.Errors("patch-1"));

        await client.PublishAsync(TestHost.Message(DeviceTopics.Samples("patch-2"), Batches.JsonBytes(1)));
        await Eventually.TrueAsync(() => !errors.IsEmpty, "the refusal is reported");
        errors.TryPeek(out var error).ShouldBeTrue();
        error!.Error.ShouldBe(ErrorCodes.Forbidden);
        host.Recorder.SampleDeliveries.ShouldBe(0);

        var subscribe = await client.SubscribeAsync(DeviceTopics.Commands("patch-2"), MqttQualityOfServiceLevel.AtLeastOnce);
        subscribe.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.NotAuthorized);
        var wildcard = await client.SubscribeAsync("hearttwin/devices/#", MqttQualityOfServiceLevel.AtLeastOnce);
        wildcard.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.NotAuthorized);
    }

    [Fact]
    public async Task Wrong_credentials_and_another_devices_client_id_are_refused_and_an_empty_client_id_is_assigned()
    {
        await using var host = await TestHost.StartAsync();
        var one = await host.RegisterAsync("patch-1");
        await host.RegisterAsync("patch-2");

        (await TryConnectAsync(host, "patch-1", "wrong-password", "patch-1")).ShouldBe(MqttClientConnectResultCode.BadUserNameOrPassword);
        (await TryConnectAsync(host, "nobody", one.MqttPassword, "nobody")).ShouldBe(MqttClientConnectResultCode.BadUserNameOrPassword);
        (await TryConnectAsync(host, "patch-1", one.MqttPassword, "patch-2")).ShouldBe(MqttClientConnectResultCode.ClientIdentifierNotValid);
        (await TryConnectAsync(host, "patch-1", one.MqttPassword, "")).ShouldBe(MqttClientConnectResultCode.Success);
    }

    [Fact]
    public async Task Connecting_and_disconnecting_publish_the_devices_connection_state()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1", "patient-5");
        using var client = await host.ConnectMqttAsync(credentials);
        await Eventually.TrueAsync(() => host.Recorder.Connections.Any(c => c.Connected && c.DeviceId == "patch-1" && c.Transport == "mqtt"), "connected is published");

        await client.DisconnectAsync();
        await Eventually.TrueAsync(() => host.Recorder.Connections.Any(c => !c.Connected && c.DeviceId == "patch-1"), "disconnected is published");
        host.Recorder.Connections.ShouldAllBe(c => c.PatientId == "patient-5");
    }

    internal static async Task<ConcurrentQueue<DeviceErrorDto>> CollectAsync(IMqttClient client, string topic) =>
        await CollectAsync<DeviceErrorDto>(client, topic);

    internal static async Task<ConcurrentQueue<T>> CollectAsync<T>(IMqttClient client, string topic)
    {
        var received = new ConcurrentQueue<T>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == topic)
            {
                received.Enqueue(Batches.FromJson<T>(e.ApplicationMessage.Payload.ToArray()));
            }

            return Task.CompletedTask;
        };
        var result = await client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        result.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.GrantedQoS1);
        return received;
    }

    private static SampleBatchDto WithOneArray(SampleBatchDto dto)
    {
        dto.Samples!.RemoveAt(1);
        return dto;
    }

    private static async Task<MqttClientConnectResultCode> TryConnectAsync(TestHost host, string user, string password, string clientId)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", host.MqttPort).WithCredentials(user, password).WithClientId(clientId).Build();
        try
        {
            var result = await client.ConnectAsync(options);
            return result.ResultCode;
        }
        catch (MqttConnectingFailedException ex)
        {
            // MQTTnet 5 names the CONNACK's result code in the message only.
            return Enum.GetValues<MqttClientConnectResultCode>().Where(c => c != MqttClientConnectResultCode.Success)
                .Single(c => ex.Message.Contains(c.ToString(), StringComparison.Ordinal));
        }
    }
}
