using System.Collections.Concurrent;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Policy.Tests;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset now = start;

    public override DateTimeOffset GetUtcNow() => now;

    public void Advance(TimeSpan by) => now += by;
}

/// <summary>A temporary folder removed at dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ht-policy-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, string content)
    {
        string file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, content);
        return file;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, true);
        }
        catch (IOException)
        {
        }
    }
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

/// <summary>A stand-in for Storage's audit table: keeps recorded entries and answers AuditQuery from them.</summary>
public sealed class FakeAuditStore : IMessageHandler<AuditRecorded>, IRequestHandler<AuditQuery, AuditResult>
{
    private readonly Lock gate = new();
    private readonly List<AuditRecorded> entries = [];

    public bool FailWrites { get; set; }

    public List<AuditRecorded> Entries
    {
        get
        {
            lock (gate)
            {
                return [.. entries];
            }
        }
    }

    /// <summary>Pretend the trail already holds these (a restart).</summary>
    public void Seed(IEnumerable<AuditRecorded> existing)
    {
        lock (gate)
        {
            entries.AddRange(existing);
        }
    }

    public void Replace(int index, AuditRecorded entry)
    {
        lock (gate)
        {
            entries[index] = entry;
        }
    }

    public Task HandleAsync(AuditRecorded message, MessageContext context, CancellationToken cancellationToken)
    {
        if (FailWrites)
        {
            throw new IOException("disk full");
        }

        lock (gate)
        {
            if (!entries.Any(e => e.Sequence == message.Sequence))
            {
                entries.Add(message);
            }
        }

        return Task.CompletedTask;
    }

    public Task<AuditResult> HandleAsync(AuditQuery request, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            var last = entries.Count == 0 ? null : entries[^1];
            var page = entries.Where(e => e.Sequence >= request.FromSequence).Take(request.Limit).ToList();
            return Task.FromResult(new AuditResult(page, last?.Sequence ?? 0, last?.Hash ?? AuditChain.GenesisHash));
        }
    }
}

/// <summary>The Policy block on the in-process bus, with recording subscribers and (optionally) a fake audit store.</summary>
public sealed class PolicyHarness : IAsyncDisposable
{
    private readonly ServiceProvider provider;
    private readonly List<IHostedService> hosted = [];

    private PolicyHarness(ServiceProvider provider) => this.provider = provider;

    public IServiceProvider Services => provider;

    public IMessageBus Bus => provider.GetRequiredService<IMessageBus>();

    public Recorder<ActionDecided> Decisions => provider.GetRequiredService<Recorder<ActionDecided>>();

    public Recorder<AuditRecorded> Audit => provider.GetRequiredService<Recorder<AuditRecorded>>();

    public FakeAuditStore Store => provider.GetRequiredService<FakeAuditStore>();

    public static async Task<PolicyHarness> StartAsync(string policyPath, TimeProvider? time = null, bool withStore = true,
        bool startHosted = false, Action<FakeAuditStore>? seed = null)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Policy:Path"] = policyPath,
            ["Policy:ReloadCheckSeconds"] = "1",
            ["Messaging:MaxAttempts"] = "2",
            ["Messaging:RetryDelayMs"] = "1",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        // The container would dispose the InMemoryBus twice (as itself and as the IMessageBus factory's result), and
        // its DisposeAsync is not idempotent; a non-disposable view keeps it to one disposal.
        services.AddSingleton<IMessageBus>(sp => new BusView(sp.GetRequiredService<HeartTwin.Messaging.InMemory.InMemoryBus>()));
        services.AddMessaging();
        services.AddPolicyServices();
        services.AddMessageHandler<ActionDecided, Recorder<ActionDecided>>();
        services.AddMessageHandler<AuditRecorded, Recorder<AuditRecorded>>();
        services.AddSingleton<FakeAuditStore>();
        if (withStore)
        {
            services.AddMessageHandler<AuditRecorded, FakeAuditStore>();
            services.AddRequestHandler<AuditQuery, AuditResult, FakeAuditStore>();
        }

        var harness = new PolicyHarness(services.BuildServiceProvider());
        seed?.Invoke(harness.Store);
        if (startHosted)
        {
            foreach (var service in harness.provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
                harness.hosted.Add(service);
            }
        }

        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }

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
}

/// <summary>The bus without its disposal (see <see cref="PolicyHarness.StartAsync"/>).</summary>
public sealed class BusView(IMessageBus inner) : IMessageBus
{
    public Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class =>
        inner.PublishAsync(message, cancellationToken);

    public Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class => inner.RequestAsync<TRequest, TResponse>(request, cancellationToken);
}

public static class Proposals
{
    public static ActionProposed Command(string name, IReadOnlyDictionary<string, string> parameters, string proposedBy = "agent",
        string patient = "p1", string? device = "d1", string? actionId = null, string eventType = EventTypes.ManualRequest) =>
        new(actionId ?? Guid.NewGuid().ToString("N"), patient, device, eventType, "warning", "test", DateTimeOffset.UtcNow,
            DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, proposedBy, new DeviceCommand(name, parameters), new Dictionary<string, string>());

    public static ActionProposed Alert(string eventType, string severity, string patient = "p1", string? actionId = null) =>
        new(actionId ?? Guid.NewGuid().ToString("N"), patient, "d1", eventType, severity, "test", DateTimeOffset.UtcNow,
            DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "agent", null, new Dictionary<string, string>());

    public static Dictionary<string, string> P(params string[] pairs)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < pairs.Length; i += 2)
        {
            d[pairs[i]] = pairs[i + 1];
        }

        return d;
    }
}

public static class RepoPaths
{
    /// <summary>The repository root (the folder holding HeartTwin.slnx).</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HeartTwin.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("HeartTwin.slnx not found above " + AppContext.BaseDirectory);
        }
    }
}
