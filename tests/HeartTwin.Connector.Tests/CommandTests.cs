using System.Net;
using System.Net.Http.Json;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Connector.Tests;

public sealed class CommandTests
{
    private static ActuateDevice Command(string id, string device = "patch-1", int attempt = 1) => new(
        id, device, "patient-1", new DeviceCommand(DeviceCommands.RaiseAlarm, new Dictionary<string, string> { ["level"] = "2", ["message"] = "VT run" }),
        "action-1", attempt, new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task A_command_goes_out_over_MQTT_and_its_MQTT_ack_publishes_CommandAcknowledged()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var client = await host.ConnectMqttAsync(credentials);
        var commands = await MqttIngestionTests.CollectAsync<CommandDto>(client, DeviceTopics.Commands("patch-1"));

        await host.Bus.PublishAsync(Command("cmd-1"));

        await Eventually.TrueAsync(() => !commands.IsEmpty, "the device receives the command");
        commands.TryPeek(out var command).ShouldBeTrue();
        command!.CommandId.ShouldBe("cmd-1");
        command.Name.ShouldBe(DeviceCommands.RaiseAlarm);
        command.Parameters["level"].ShouldBe("2");

        var ack = await client.PublishAsync(TestHost.Message(DeviceTopics.Acks("patch-1"), Batches.ToJson(new AckDto { CommandId = "cmd-1", Status = "accepted", Detail = "alarm shown" })));
        ack.IsSuccess.ShouldBeTrue();
        var acknowledged = host.Recorder.Acks.ShouldHaveSingleItem();
        (acknowledged.CommandId, acknowledged.DeviceId, acknowledged.PatientId, acknowledged.Status, acknowledged.Detail)
            .ShouldBe(("cmd-1", "patch-1", "patient-1", "accepted", "alarm shown"));

        using var device = host.DeviceClient(credentials.Token);
        (await device.GetFromJsonAsync<CommandDto[]>("/api/devices/patch-1/commands"))!.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_bad_MQTT_ack_is_reported_on_the_errors_topic_and_not_published()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var client = await host.ConnectMqttAsync(credentials);
        var errors = await MqttIngestionTests.CollectAsync(client, DeviceTopics.Errors("patch-1"));

        await client.PublishAsync(TestHost.Message(DeviceTopics.Acks("patch-1"), "{not json"u8.ToArray()));
        await client.PublishAsync(TestHost.Message(DeviceTopics.Acks("patch-1"), Batches.ToJson(new AckDto { CommandId = "cmd-1", Status = "done" })));

        await Eventually.TrueAsync(() => errors.Count == 2, "both acks are reported");
        errors.Select(e => e.Error).ShouldBe([ErrorCodes.Malformed, ErrorCodes.InvalidAck]);
        host.Recorder.Acks.ShouldBeEmpty();
    }

    [Fact]
    public async Task An_HTTP_device_pulls_pending_commands_and_acknowledges_them()
    {
        await using var host = await TestHost.StartAsync();
        var credentials = await host.RegisterAsync("patch-1");
        using var device = host.DeviceClient(credentials.Token);

        await host.Bus.PublishAsync(Command("cmd-1"));
        await host.Bus.PublishAsync(Command("cmd-2"));
        await host.Bus.PublishAsync(Command("cmd-1", attempt: 2)); // a retry replaces, not duplicates

        var pending = await device.GetFromJsonAsync<CommandDto[]>("/api/devices/patch-1/commands");
        pending!.Select(c => c.CommandId).ShouldBe(["cmd-2", "cmd-1"]);

        var response = await device.PostAsJsonAsync("/api/devices/patch-1/acks", new AckDto { CommandId = "cmd-2", Status = "rejected", Detail = "busy" });
        response.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        host.Recorder.Acks.ShouldHaveSingleItem().Status.ShouldBe("rejected");
        (await device.GetFromJsonAsync<CommandDto[]>("/api/devices/patch-1/commands"))!.Select(c => c.CommandId).ShouldBe(["cmd-1"]);
    }

    [Fact]
    public async Task Bad_acknowledgements_and_foreign_tokens_are_refused()
    {
        await using var host = await TestHost.StartAsync();
        var one = await host.RegisterAsync("patch-1");
        var two = await host.RegisterAsync("patch-2");
        using var device = host.DeviceClient(one.Token);
        using var other = host.DeviceClient(two.Token);

        (await device.PostAsJsonAsync("/api/devices/patch-1/acks", new AckDto { CommandId = "cmd-1", Status = "maybe" })).StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        (await device.PostAsync("/api/devices/patch-1/acks", Batches.Raw("{nope"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await other.GetAsync("/api/devices/patch-1/commands")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await other.PostAsJsonAsync("/api/devices/patch-1/acks", new AckDto { CommandId = "cmd-1", Status = "accepted" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        host.Recorder.Acks.ShouldBeEmpty();
    }
}
