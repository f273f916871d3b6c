using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Messaging.Mqtt.Tests;

/// <summary>Fails every time on reading 3 (a poison message); handles the others.</summary>
public sealed class PoisonedCollector(Sink sink) : IMessageHandler<Reading>
{
    private int attemptsOnPoison;

    public int AttemptsOnPoison => Volatile.Read(ref attemptsOnPoison);

    public Task HandleAsync(Reading message, MessageContext context, CancellationToken cancellationToken)
    {
        if (message.N == 3)
        {
            Interlocked.Increment(ref attemptsOnPoison);
            throw new InvalidOperationException("reading 3 cannot be stored");
        }

        sink.Seen.Enqueue((message.PatientId, message.N, 0, context));
        return Task.CompletedTask;
    }
}

public sealed class DeadLetterTests
{
    [Fact]
    public async Task A_message_that_fails_every_attempt_is_parked_on_the_dead_letter_topic_and_the_stream_goes_on()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var observer = await RawClient.ConnectAsync(broker, MqttTopics.DeadLetters("agent"));
        var sink = new Sink();
        await using var agent = await TestService.StartAsync(broker, "agent", s => s.AddSingleton(sink).AddMessageHandler<Reading, PoisonedCollector>());
        await using var connector = await TestService.StartAsync(broker, "connector");

        for (int n = 0; n < 6; n++)
        {
            await connector.Bus.PublishAsync(new Reading("p-1", n));
        }

        await Wait.UntilAsync(() => sink.Of("p-1").Contains(5) && !observer.Received.IsEmpty, "the stream past the poison and its dead letter");
        sink.Of("p-1").ShouldBe([0, 1, 2, 4, 5]);
        agent.Host.Services.GetRequiredService<PoisonedCollector>().AttemptsOnPoison.ShouldBe(3);

        var letter = agent.DeadLetters.Snapshot().ShouldHaveSingleItem();
        letter.MessageKey.ShouldBe("p-1:3");
        letter.Attempts.ShouldBe(3);
        letter.Error.ShouldContain("reading 3 cannot be stored");

        var (topic, payload) = observer.Received.ShouldHaveSingleItem();
        topic.ShouldBe("hearttwin/deadletters/agent");
        var notice = JsonSerializer.Deserialize<DeadLetterNotice>(payload, MqttWire.Json)!;
        notice.MessageType.ShouldBe(nameof(Reading));
        notice.MessageKey.ShouldBe("p-1:3");
        notice.Subscription.ShouldBe(nameof(PoisonedCollector));
        JsonSerializer.Deserialize<Reading>(notice.Payload, MqttWire.Json).ShouldBe(new Reading("p-1", 3), "the payload is kept for replay");
    }

    [Fact]
    public async Task A_type_name_from_the_wire_that_is_not_subscribed_here_is_rejected_and_parked_not_loaded()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var observer = await RawClient.ConnectAsync(broker, MqttTopics.DeadLetters("storage"));
        var sink = new Sink();
        await using var storage = await TestService.StartAsync(broker, "storage", s => s.AddSingleton(sink).AddMessageHandler<Reading, ReadingCollector>());
        await using var attacker = await RawClient.ConnectAsync(broker);
        string topic = MqttTopics.Bus(nameof(Reading), MqttTopics.PartitionOf("p-1", 8));

        await attacker.PublishAsync(topic, """{"fileName":"/bin/sh"}""", new Dictionary<string, string> { [MqttWire.TypeProperty] = "System.Diagnostics.Process" });
        await attacker.PublishAsync(topic, "{ not json", new Dictionary<string, string> { [MqttWire.TypeProperty] = nameof(Reading) });
        await attacker.PublishAsync(topic, """{"patientId":"p-1","n":1}""");
        await using var connector = await TestService.StartAsync(broker, "connector");
        await connector.Bus.PublishAsync(new Reading("p-1", 2));

        // The good reading comes after the three bad ones on the same ordered partition: seeing it proves they were passed by.
        await Wait.UntilAsync(() => sink.Count == 1 && observer.Received.Count == 3, "the good reading and three dead letters");
        sink.Of("p-1").ShouldBe([2]);
        storage.DeadLetters.Count.ShouldBe(3);
        var errors = storage.DeadLetters.Snapshot().Select(l => l.Error).ToList();
        errors[0].ShouldContain("'System.Diagnostics.Process' is not the topic's type");
        errors[1].ShouldContain("Unreadable Reading");
        errors[2].ShouldContain("'(none)'");
        storage.Mqtt.IsConnected.ShouldBeTrue();
    }
}
