using System.Text.Json;
using HeartTwin.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Messaging.Mqtt.Tests;

public sealed class SamplesSink : IMessageHandler<SamplesReceived>
{
    public TaskCompletionSource<(SamplesReceived Message, MessageContext Context)> Got { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task HandleAsync(SamplesReceived message, MessageContext context, CancellationToken cancellationToken)
    {
        Got.TrySetResult((message, context));
        return Task.CompletedTask;
    }
}

/// <summary>Handles readings until it reaches <see cref="BlockAt"/>, then hangs there (never acknowledging it) until stopped.</summary>
public sealed class HangingCollector(Sink sink) : IMessageHandler<Reading>
{
    public const int BlockAt = 20;

    public TaskCompletionSource Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task HandleAsync(Reading message, MessageContext context, CancellationToken cancellationToken)
    {
        if (message.N == BlockAt)
        {
            Blocked.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        sink.Seen.Enqueue((message.PatientId, message.N, 0, context));
    }
}

public sealed class DeliveryTests
{
    [Fact]
    public async Task A_contract_published_by_one_service_reaches_the_handler_of_another_intact()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", s => s.AddMessageHandler<SamplesReceived, SamplesSink>());
        await using var connector = await TestService.StartAsync(broker, "connector");
        var sent = new SamplesReceived("patch-1", "p-1", 7, DateTimeOffset.Parse("2026-01-02T03:04:05.123Z", System.Globalization.CultureInfo.InvariantCulture), 360,
            [new LeadInfo("MLII", 200, 1024), new LeadInfo("V1", 200, 1024)], [[1, -2, 3], [4, 5, -6]], DateTimeOffset.UtcNow, "mqtt");

        await connector.Bus.PublishAsync(sent);

        var (got, context) = await storage.Host.Services.GetRequiredService<SamplesSink>().Got.Task.WaitAsync(TimeSpan.FromSeconds(20));
        got.DeviceId.ShouldBe("patch-1");
        got.Sequence.ShouldBe(7);
        got.StartTime.ShouldBe(sent.StartTime);
        got.Leads.ShouldBe(sent.Leads);
        got.Samples.ShouldBe(sent.Samples);
        context.MessageKey.ShouldBe("patch-1:7");
        context.PartitionKey.ShouldBe("p-1");
        context.Attempt.ShouldBe(1);
        storage.DeadLetters.Count.ShouldBe(0);
    }

    [Fact]
    public async Task Each_patient_stays_on_one_of_two_replicas_and_in_order_under_load()
    {
        const int patients = 16, perPatient = 40;
        await using var broker = await MosquittoBroker.StartAsync();
        var sink = new Sink();
        await using var replica0 = await TestService.StartAsync(broker, "acquisition", s => s.AddSingleton(sink).AddMessageHandler<Reading, ReadingCollector>(), 0, 2);
        await using var replica1 = await TestService.StartAsync(broker, "acquisition", s => s.AddSingleton(sink).AddMessageHandler<Reading, ReadingCollector>(), 1, 2);
        await using var connector = await TestService.StartAsync(broker, "connector");

        // Each patient's readings are published one after the other; patients go in parallel.
        await Task.WhenAll(Enumerable.Range(0, patients).Select(async p =>
        {
            for (int n = 0; n < perPatient; n++)
            {
                await connector.Bus.PublishAsync(new Reading($"patient-{p}", n));
            }
        }));

        await Wait.UntilAsync(() => sink.Count >= patients * perPatient, "every reading");
        sink.Count.ShouldBe(patients * perPatient);
        for (int p = 0; p < patients; p++)
        {
            string id = $"patient-{p}";
            sink.Of(id).ShouldBe(Enumerable.Range(0, perPatient), $"{id} out of order");
            var replicas = sink.Seen.Where(s => s.PatientId == id).Select(s => s.Replica).Distinct().ToList();
            replicas.ShouldHaveSingleItem($"{id} handled by more than one replica");
            replicas[0].ShouldBe(MqttTopics.PartitionOf(id, 8) % 2, $"{id} is not on the replica that owns its partition");
        }

        sink.Seen.Select(s => s.Replica).Distinct().Count().ShouldBe(2, "both replicas must take a share");
    }

    [Fact]
    public async Task Messages_a_killed_consumer_had_not_acknowledged_are_delivered_again_after_it_comes_back()
    {
        const int total = 60;
        await using var broker = await MosquittoBroker.StartAsync();
        var sink = new Sink();
        var first = await TestService.StartAsync(broker, "agent", s => s.AddSingleton(sink).AddMessageHandler<Reading, HangingCollector>());
        await using var connector = await TestService.StartAsync(broker, "connector");
        for (int n = 0; n < total; n++)
        {
            await connector.Bus.PublishAsync(new Reading("p-1", n));
        }

        // The consumer hangs inside reading 20 and dies there: 20 and everything after it was never acknowledged.
        await first.Host.Services.GetRequiredService<HangingCollector>().Blocked.Task.WaitAsync(TimeSpan.FromSeconds(20));
        sink.Of("p-1").ShouldBe(Enumerable.Range(0, HangingCollector.BlockAt));
        await first.DisposeAsync();

        var secondSink = new Sink();
        await using var second = await TestService.StartAsync(broker, "agent", s => s.AddSingleton(secondSink).AddMessageHandler<Reading, ReadingCollector>());
        await Wait.UntilAsync(() => secondSink.Of("p-1").Contains(total - 1), "the last reading after the restart");

        var again = secondSink.Of("p-1");
        again.ShouldContain(HangingCollector.BlockAt, "the reading the consumer died holding must come back");
        again.Where(n => n >= HangingCollector.BlockAt).ShouldBe(Enumerable.Range(HangingCollector.BlockAt, total - HangingCollector.BlockAt), "in order");
        sink.Of("p-1").Union(again).Order().ShouldBe(Enumerable.Range(0, total));
    }

    [Fact]
    public async Task No_acknowledged_publish_is_lost_when_the_broker_restarts_mid_stream()
    {
        const int patients = 4, perPatient = 60;
        await using var broker = await MosquittoBroker.StartAsync();
        var sink = new Sink();
        await using var storage = await TestService.StartAsync(broker, "storage", s => s.AddSingleton(sink).AddMessageHandler<Reading, ReadingCollector>());
        await using var connector = await TestService.StartAsync(broker, "connector");
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<(string, int)>();
        int acks = 0;

        var stream = Task.WhenAll(Enumerable.Range(0, patients).Select(async p =>
        {
            for (int n = 0; n < perPatient; n++)
            {
                await connector.Bus.PublishAsync(new Reading($"p-{p}", n));
                acknowledged.Add(($"p-{p}", n));
                Interlocked.Increment(ref acks);
                await Task.Delay(5);
            }
        }));

        await Wait.UntilAsync(() => Volatile.Read(ref acks) >= patients * perPatient / 3, "a third of the stream");
        await broker.RestartAsync();
        await stream.WaitAsync(TimeSpan.FromSeconds(60));

        acknowledged.Count.ShouldBe(patients * perPatient);
        await Wait.UntilAsync(() => acknowledged.All(a => sink.Seen.Any(s => s.PatientId == a.Item1 && s.N == a.Item2)), "every acknowledged reading at the consumer", 60);
        for (int p = 0; p < patients; p++)
        {
            // At least once: a publish whose PUBACK was cut off is sent again, so duplicates may come, but first sightings keep order.
            sink.Of($"p-{p}").Distinct().ShouldBe(Enumerable.Range(0, perPatient), $"p-{p} out of order");
        }

        connector.Mqtt.Reconnects.ShouldBeGreaterThanOrEqualTo(1);
        storage.Mqtt.Reconnects.ShouldBeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Publishing_while_the_broker_is_away_fails_clearly_after_the_publish_timeout()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var connector = await TestService.StartAsync(broker, "connector", settings: new Dictionary<string, string?> { ["Messaging:Mqtt:PublishTimeoutMs"] = "700" });
        await broker.StopAsync();

        var error = await Should.ThrowAsync<MessageDeliveryException>(() => connector.Bus.PublishAsync(new Reading("p-1", 1)));
        error.Message.ShouldContain("did not acknowledge it within 700 ms");
        error.Message.ShouldContain(broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_service_started_before_its_broker_connects_by_itself_once_the_broker_is_up()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await broker.StopAsync();
        var sink = new Sink();
        await using var storage = await TestService.StartAsync(broker, "storage", s => s.AddSingleton(sink).AddMessageHandler<Reading, ReadingCollector>(),
            settings: new Dictionary<string, string?> { ["Messaging:Mqtt:StartTimeoutMs"] = "200" });
        storage.Mqtt.IsConnected.ShouldBeFalse();

        await broker.RestartAsync();
        await using var connector = await TestService.StartAsync(broker, "connector");
        await Wait.UntilAsync(() => storage.Mqtt.IsConnected, "the storage service to connect");
        await connector.Bus.PublishAsync(new Reading("p-1", 1));
        await Wait.UntilAsync(() => sink.Count == 1, "the reading");
    }

    [Fact]
    public void Json_on_the_wire_is_camel_case_and_keeps_value_tuples()
    {
        var result = new VitalsResult([("dev-1", new VitalObservation("spo2", 97, "%", DateTimeOffset.UnixEpoch))]);
        var json = JsonSerializer.Serialize(result, MqttWire.Json);
        json.ShouldContain("\"observations\"");
        JsonSerializer.Deserialize<VitalsResult>(json, MqttWire.Json)!.Observations[0].Observation.Value.ShouldBe(97);
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public void A_classification_answer_keeps_its_families_fields_on_the_wire()
    {
        // beat-cnn 2.4.0's answer, which the Agent needs whole to vote the families; an answer without them stays without.
        var result = new ClassifyBeatsResult("beat-cnn@3.4.0", ["N", "S", "V", "F", "Q"], [0.9f, 0.05f, 0.03f, 0.01f, 0.01f], [0], [0], [false],
            ClassesIfNormal: [1], ClassesIfNormalInAf: [0], Families: new BeatFamilySettings(0, 128, 0.9, 16, 8, 2.0 / 3), VentricularInAfMinProbability: 0.7);

        var back = JsonSerializer.Deserialize<ClassifyBeatsResult>(JsonSerializer.Serialize(result, MqttWire.Json), MqttWire.Json)!;

        back.Families.ShouldBe(result.Families);
        back.ClassesIfNormal.ShouldBe([1]);
        back.ClassesIfNormalInAf.ShouldBe([0]);
        back.VentricularInAfMinProbability.ShouldBe(0.7);
        var older = JsonSerializer.Deserialize<ClassifyBeatsResult>(
            JsonSerializer.Serialize(result with { Families = null, ClassesIfNormal = null, ClassesIfNormalInAf = null, VentricularInAfMinProbability = null }, MqttWire.Json), MqttWire.Json)!;
        older.Families.ShouldBeNull();
        older.ClassesIfNormal.ShouldBeNull();
    }
}
