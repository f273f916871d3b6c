using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Storage.Tests;

/// <summary>A time the test sets.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>A host composed as the real one is (AddMessaging, then AddStorage) on a temporary data folder or a test database.</summary>
internal sealed class StorageHarness : IAsyncDisposable
{
    private readonly IHost host;

    private StorageHarness(IHost host)
    {
        this.host = host;
        Bus = host.Services.GetRequiredService<IMessageBus>();
        Store = host.Services.GetRequiredService<ITwinStore>();
    }

    public IServiceProvider Services => host.Services;

    public IMessageBus Bus { get; }

    internal ITwinStore Store { get; }

    public StorageStats Stats => host.Services.GetRequiredService<StorageStats>();

    public static async Task<StorageHarness> StartAsync(string? dataDirectory, TimeProvider? time = null, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var config = new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = dataDirectory,
            ["Messaging:RetryDelayMs"] = "1",
            ["Messaging:MaxAttempts"] = "2",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddLogging();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        // InMemoryBus is registered both as itself and through an IMessageBus factory, so the container disposes it twice and its
        // DisposeAsync is not idempotent (reported to the lead). A non-disposable view keeps the test host's shutdown clean.
        builder.Services.AddSingleton<IMessageBus>(sp => new BusView(sp.GetRequiredService<InMemoryBus>()));
        builder.Services.AddMessaging();
        builder.AddStorage();
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new StorageHarness(host);
    }

    public Task<TResponse> Ask<TRequest, TResponse>(TRequest request) where TRequest : class where TResponse : class =>
        Bus.RequestAsync<TRequest, TResponse>(request);

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        if (host is IAsyncDisposable d)
        {
            await d.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }
    }
}

internal sealed class BusView(IMessageBus inner) : IMessageBus
{
    public Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class =>
        inner.PublishAsync(message, cancellationToken);

    public Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class => inner.RequestAsync<TRequest, TResponse>(request, cancellationToken);
}

/// <summary>Sample batches cut from MIT-BIH records as a device would send them: 1 s of both leads per batch.</summary>
internal static class Batches
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    public static IReadOnlyList<LeadInfo> Leads(string record) =>
        [.. TestData.Header(record).Signals.Select(s => new LeadInfo(s.Description, s.AdcGain, s.Baseline, s.Units))];

    public static SamplesReceived FromRecord(string record, string device, string patient, long sequence, int secondsPerBatch = 1, DateTimeOffset? receivedAt = null)
    {
        var adc = TestData.Adc(record);
        int perLead = 360 * secondsPerBatch;
        int offset = (int)(sequence * perLead);
        return new SamplesReceived(device, patient, sequence, T0.AddSeconds(sequence * secondsPerBatch), 360, Leads(record),
            [.. adc.Select(l => l[offset..(offset + perLead)])], receivedAt ?? DateTimeOffset.UtcNow, "mqtt");
    }

    /// <summary>Segments of a samples result glued back together per lead.</summary>
    public static int[][] Concat(SamplesResult result)
    {
        int leads = result.Segments.Count == 0 ? 0 : result.Segments[0].Samples.Length;
        return [.. Enumerable.Range(0, leads).Select(l => result.Segments.SelectMany(s => s.Samples[l]).ToArray())];
    }
}
