using System.Collections.Concurrent;
using System.Text;
using HeartTwin.Contracts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HeartTwin.Messaging.Mqtt.Tests;

public sealed record Reading(string PatientId, int N) : IPatientMessage, IKeyedMessage
{
    public string MessageKey => $"{PatientId}:{N}";
}

/// <summary>Which replica a handler runs in.</summary>
public sealed record ReplicaTag(int Index);

/// <summary>Everything the handlers of one test saw, across services and replicas.</summary>
public sealed class Sink
{
    public ConcurrentQueue<(string PatientId, int N, int Replica, MessageContext Context)> Seen { get; } = new();

    public int Count => Seen.Count;

    public List<int> Of(string patientId) => [.. Seen.Where(s => s.PatientId == patientId).Select(s => s.N)];
}

public sealed class ReadingCollector(Sink sink, ReplicaTag replica) : IMessageHandler<Reading>
{
    public async Task HandleAsync(Reading message, MessageContext context, CancellationToken cancellationToken)
    {
        await Task.Yield(); // let partitions interleave: order must still hold per patient
        sink.Seen.Enqueue((message.PatientId, message.N, replica.Index, context));
    }
}

/// <summary>A started service (one block's host) on the MQTT bus.</summary>
public sealed class TestService : IAsyncDisposable
{
    private TestService(IHost host) => Host = host;

    public IHost Host { get; }

    public IMessageBus Bus => Host.Services.GetRequiredService<IMessageBus>();

    public MqttBus Mqtt => Host.Services.GetRequiredService<MqttBus>();

    public IDeadLetters DeadLetters => Host.Services.GetRequiredService<IDeadLetters>();

    public static async Task<TestService> StartAsync(MosquittoBroker broker, string serviceName, Action<IServiceCollection>? configure = null,
        int replicaIndex = 0, int replicaCount = 1, IDictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "Mqtt",
            ["Messaging:MaxAttempts"] = "3",
            ["Messaging:RetryDelayMs"] = "10",
            ["Messaging:Mqtt:Host"] = "127.0.0.1",
            ["Messaging:Mqtt:Port"] = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Messaging:Mqtt:ServiceName"] = serviceName,
            ["Messaging:Mqtt:ReplicaIndex"] = replicaIndex.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Messaging:Mqtt:ReplicaCount"] = replicaCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Messaging:Mqtt:Partitions"] = "8",
            ["Messaging:Mqtt:ReconnectMinDelayMs"] = "100",
            ["Messaging:Mqtt:ReconnectMaxDelayMs"] = "500",
            ["Messaging:Mqtt:RequestTimeoutMs"] = "2000",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddConfiguredMessaging();
        builder.Services.AddSingleton(new ReplicaTag(replicaIndex));
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new TestService(host);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}

/// <summary>A bare MQTTnet client, to see topics and to put on the wire what the bus itself would never send.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly IMqttClient client = new MqttClientFactory().CreateMqttClient();

    public ConcurrentQueue<(string Topic, string Payload)> Received { get; } = new();

    public static async Task<RawClient> ConnectAsync(MosquittoBroker broker, params string[] subscriptions)
    {
        var raw = new RawClient();
        raw.client.ApplicationMessageReceivedAsync += e =>
        {
            raw.Received.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
            return Task.CompletedTask;
        };
        await raw.client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port)
            .WithClientId("raw-" + Guid.NewGuid().ToString("N")).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        foreach (var topic in subscriptions)
        {
            await raw.client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        return raw;
    }

    public async Task PublishAsync(string topic, string payload, IReadOnlyDictionary<string, string>? properties = null)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        foreach (var (name, value) in properties ?? new Dictionary<string, string>())
        {
            builder = builder.WithUserProperty(name, new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(value)));
        }

        await client.PublishAsync(builder.Build());
    }

    public async ValueTask DisposeAsync()
    {
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        client.Dispose();
    }
}

public static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {seconds} s for {what}.");
            }

            await Task.Delay(25);
        }
    }
}
