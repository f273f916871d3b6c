using System.Collections.Concurrent;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Actuation.Tests;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset now = start;

    public override DateTimeOffset GetUtcNow() => now;

    public void Advance(TimeSpan by) => now += by;
}

/// <summary>Records every message of a type, as another block's subscriber would see it.</summary>
public sealed class Recorder<T> : IMessageHandler<T> where T : class
{
    private readonly ConcurrentQueue<T> received = new();

    public IReadOnlyList<T> Received => [.. received];

    public Task HandleAsync(T message, MessageContext context, CancellationToken cancellationToken)
    {
        received.Enqueue(message);
        return Task.CompletedTask;
    }
}

/// <summary>The bus without its disposal: the container would dispose the InMemoryBus twice, and that throws.</summary>
public sealed class BusView(IMessageBus inner) : IMessageBus
{
    public Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class =>
        inner.PublishAsync(message, cancellationToken);

    public Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class => inner.RequestAsync<TRequest, TResponse>(request, cancellationToken);

    public static void Register(IServiceCollection services) =>
        services.AddSingleton<IMessageBus>(sp => new BusView(sp.GetRequiredService<HeartTwin.Messaging.InMemory.InMemoryBus>()));
}

/// <summary>A stand-in for the Policy block: allows raise-alarm, denies everything else.</summary>
public sealed class FakePolicy(IMessageBus bus) : IMessageHandler<ActionProposed>
{
    public async Task HandleAsync(ActionProposed message, MessageContext context, CancellationToken cancellationToken)
    {
        bool allowed = message.Command?.Name == DeviceCommands.RaiseAlarm;
        await bus.PublishAsync(new ActionDecided(message, allowed, allowed ? "alarm" : "default-deny", allowed ? "ok" : "no rule",
            DateTimeOffset.UtcNow, "test"), cancellationToken);
    }
}

/// <summary>The Actuation block on the in-process bus with recording subscribers.</summary>
public sealed class ActuationHarness : IAsyncDisposable
{
    private readonly ServiceProvider provider;

    private ActuationHarness(ServiceProvider provider, ManualTimeProvider time)
    {
        this.provider = provider;
        Time = time;
    }

    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public ManualTimeProvider Time { get; }

    public IMessageBus Bus => provider.GetRequiredService<IMessageBus>();

    internal CommandTracker Tracker => provider.GetRequiredService<CommandTracker>();

    public Recorder<ActuateDevice> Sent => provider.GetRequiredService<Recorder<ActuateDevice>>();

    public Recorder<CommandStatusChanged> Statuses => provider.GetRequiredService<Recorder<CommandStatusChanged>>();

    public static ActuationHarness Create()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Actuation:AckTimeoutSeconds"] = "10",
            ["Actuation:MaxAttempts"] = "3",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging();
        var time = new ManualTimeProvider(Start);
        services.AddSingleton<TimeProvider>(time);
        BusView.Register(services);
        services.AddMessaging();
        services.AddActuationServices();
        services.AddMessageHandler<ActuateDevice, Recorder<ActuateDevice>>();
        services.AddMessageHandler<CommandStatusChanged, Recorder<CommandStatusChanged>>();
        return new ActuationHarness(services.BuildServiceProvider(), time);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await provider.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // InMemoryBus's partition workers resolve their handler lazily; one that starts only while the container
            // is being disposed faults, and the bus's DisposeAsync rethrows it (reported to the Messaging owner).
        }
    }

    public static ActionDecided Decision(bool allowed = true, string? actionId = null, string command = DeviceCommands.RaiseAlarm, string? device = "d1")
    {
        var proposal = new ActionProposed(actionId ?? Guid.NewGuid().ToString("N"), "p1", device, EventTypes.VentricularRun, "critical", "run of 4 V beats",
            Start, Start, Start, "agent", new DeviceCommand(command, new Dictionary<string, string> { ["level"] = "3" }), new Dictionary<string, string>());
        return new ActionDecided(proposal, allowed, allowed ? "alarm" : "default-deny", "test", Start, "v1");
    }
}
