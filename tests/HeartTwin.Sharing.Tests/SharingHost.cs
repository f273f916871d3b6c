using System.Collections.Concurrent;
using System.Net.Http.Headers;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Sharing.Tests;

/// <summary>A real Kestrel on 127.0.0.1:0 with the service defaults, the in-memory bus, the Sharing block, and fake Storage and Policy handlers.</summary>
public sealed class SharingHost : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token-0123456789abcdef";
    private readonly WebApplication app;

    private SharingHost(WebApplication app, string dataDir)
    {
        this.app = app;
        DataDirectory = dataDir;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public Uri BaseAddress { get; }
    public string DataDirectory { get; }
    public IServiceProvider Services => app.Services;

    /// <summary>Leave the data folder in place on dispose (to start again on it).</summary>
    public bool KeepData { get; set; }
    public FakePolicy Policy => app.Services.GetRequiredService<FakePolicy>();
    public FakeStorage Storage => app.Services.GetRequiredService<FakeStorage>();
    public IMessageBus Bus => app.Services.GetRequiredService<IMessageBus>();

    public static async Task<SharingHost> StartAsync(Dictionary<string, string?>? settings = null, string? dataDir = null, string url = "http://127.0.0.1:0", bool withStorage = true)
    {
        dataDir ??= Path.Combine(Path.GetTempPath(), "hearttwin-sharing-" + Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var config = new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = AdminToken,
            ["Auth:SigningKey"] = "test-signing-key-0123456789abcdef0123456789",
            ["Sharing:DataDirectory"] = dataDir,
            ["Sharing:WebhookRetryBaseDelayMs"] = "50",
            ["Sharing:WebhookPollIntervalMs"] = "50",
            ["Sharing:MaxEcgRangeSeconds"] = "600",
        };
        foreach (var kv in settings ?? [])
        {
            config[kv.Key] = kv.Value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.AddServiceDefaults();
        builder.Services.AddMessaging();
        builder.AddSharing();
        builder.Services.AddSingleton<FakePolicy>();
        builder.Services.AddRequestHandler<ShareRequest, ShareDecision, FakePolicy>();
        builder.Services.AddSingleton<FakeStorage>();
        if (withStorage)
        {
            AddStorage(builder.Services);
        }

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapSharing();
        await app.StartAsync();
        return new SharingHost(app, dataDir);
    }

    private static void AddStorage(IServiceCollection services)
    {
        services.AddRequestHandler<PatientsQuery, PatientsResult, FakeStorage>();
        services.AddRequestHandler<SamplesQuery, SamplesResult, FakeStorage>();
        services.AddRequestHandler<BeatsQuery, BeatsResult, FakeStorage>();
        services.AddRequestHandler<EventsQuery, EventsResult, FakeStorage>();
        services.AddRequestHandler<VitalsQuery, VitalsResult, FakeStorage>();
        services.AddRequestHandler<WindowsQuery, WindowsResult, FakeStorage>();
        services.AddRequestHandler<ErasePatientRequest, ErasePatientResult, FakeStorage>();
    }

    /// <summary>A client with the given bearer token (none when null).</summary>
    public HttpClient Client(string? token = AdminToken)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public string Token(string subject, string[] scopes, params string[] patients) =>
        app.Services.GetRequiredService<TokenService>().Issue(subject, scopes, patients, TimeSpan.FromHours(1)).Token;

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        try
        {
            await app.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // InMemoryBus is registered as itself and, through a factory, as IMessageBus, so the container disposes it
            // twice and its second DisposeAsync throws (a Messaging issue, reported; not this block's).
        }

        SqliteConnection.ClearAllPools();
        if (KeepData)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open is left for the OS to clean.
        }
    }
}

/// <summary>The Policy stand-in: allows or denies by a switch, and records every request.</summary>
public sealed class FakePolicy : IRequestHandler<ShareRequest, ShareDecision>
{
    public Func<ShareRequest, bool> Allow { get; set; } = _ => true;
    public ConcurrentQueue<ShareRequest> Requests { get; } = new();

    public Task<ShareDecision> HandleAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        return Task.FromResult(Allow(request)
            ? new ShareDecision(true, "test-allow", "allowed by the test")
            : new ShareDecision(false, "test-deny", $"no consent to share {request.Category} of {request.PatientId} with {request.Recipient}"));
    }
}

/// <summary>The Storage stand-in: two patients; p1 has 10 s of MIT-BIH record 101, beats, events and vitals.</summary>
public sealed class FakeStorage :
    IRequestHandler<PatientsQuery, PatientsResult>,
    IRequestHandler<SamplesQuery, SamplesResult>,
    IRequestHandler<BeatsQuery, BeatsResult>,
    IRequestHandler<EventsQuery, EventsResult>,
    IRequestHandler<VitalsQuery, VitalsResult>,
    IRequestHandler<WindowsQuery, WindowsResult>,
    IRequestHandler<ErasePatientRequest, ErasePatientResult>
{
    public static readonly DateTimeOffset T0 = new(2024, 5, 1, 10, 0, 0, TimeSpan.Zero);

    public static TwinState StateOf(string patientId, double hr) => new(
        patientId, T0.AddSeconds(11), T0.AddSeconds(10), hr, hr + 1, 40, 30, 5, RhythmLabels.Regular,
        new Dictionary<string, long> { ["N"] = 12, ["V"] = 1 }, 0, 0.95, "beat-cnn@1.0.0", "d1", true, 1);

    public ConcurrentQueue<object> Queries { get; } = new();
    public ConcurrentQueue<ErasePatientRequest> Erased { get; } = new();

    private static readonly List<PatientSummary> Patients =
    [
        new("p1", ["d1"], StateOf("p1", 72.4)),
        new("p2", ["d2"], null),
    ];

    public static IReadOnlyList<StoredAction> Actions { get; } =
    [
        new(new ActionProposed("a1", "p1", "d1", EventTypes.VentricularRun, "critical", "3 ventricular beats in a row", T0.AddSeconds(3), T0.AddSeconds(4), T0.AddSeconds(5), "agent", null,
            new Dictionary<string, string> { ["beats"] = "3" }), null, null),
        new(new ActionProposed("a2", "p1", "d1", EventTypes.HeartRateHigh, "warning", "heart rate 142 bpm", T0.AddSeconds(6), T0.AddSeconds(6), T0.AddSeconds(7), "agent",
            new DeviceCommand(DeviceCommands.RaiseAlarm, new Dictionary<string, string> { ["level"] = "2" }), new Dictionary<string, string>()), null, null),
    ];

    public Task<PatientsResult> HandleAsync(PatientsQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        var list = request.PatientIds is null ? Patients : Patients.Where(p => request.PatientIds.Contains(p.PatientId)).ToList();
        return Task.FromResult(new PatientsResult(list));
    }

    public Task<SamplesResult> HandleAsync(SamplesQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        if (request.PatientId != "p1")
        {
            return Task.FromResult(new SamplesResult([]));
        }

        var (leads, samples, rate) = TestData.First10SecondsOf101;
        int first = (int)Math.Max(0, Math.Ceiling((request.From - T0).TotalSeconds * rate));
        int last = (int)Math.Min(samples[0].Length, Math.Ceiling((request.To - T0).TotalSeconds * rate));
        if (last <= first)
        {
            return Task.FromResult(new SamplesResult([]));
        }

        var keep = Enumerable.Range(0, leads.Count).Where(i => request.Lead is null || leads[i].Name == request.Lead).ToList();
        var segment = new SampleSegment("d1", 1, T0.AddSeconds(first / rate), rate, [.. keep.Select(i => leads[i])], [.. keep.Select(i => samples[i][first..last])]);
        return Task.FromResult(new SamplesResult(keep.Count == 0 ? [] : [segment]));
    }

    public Task<BeatsResult> HandleAsync(BeatsQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        IReadOnlyList<StoredBeat> beats = request.PatientId != "p1" ? [] :
        [
            new("d1", T0.AddSeconds(0.5), 0, "N", 0.99, "beat-cnn@1.0.0"),
            new("d1", T0.AddSeconds(1.3), 800, "N", 0.98, "beat-cnn@1.0.0"),
            new("d1", T0.AddSeconds(1.9), 600, "V", 0.91, "beat-cnn@1.0.0"),
        ];
        return Task.FromResult(new BeatsResult([.. beats.Where(b => b.Time >= request.From && b.Time < request.To).Take(request.Limit)]));
    }

    public Task<EventsResult> HandleAsync(EventsQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        return Task.FromResult(new EventsResult([.. Actions.Where(a => a.Proposal.PatientId == request.PatientId && a.Proposal.OccurredAt >= request.From && a.Proposal.OccurredAt < request.To)]));
    }

    public Task<VitalsResult> HandleAsync(VitalsQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        List<(string, VitalObservation)> all =
        [
            ("d1", new VitalObservation(VitalCodes.SpO2, 97, "%", T0.AddSeconds(5))),
            ("d1", new VitalObservation(VitalCodes.SystolicPressure, 121, "mm[Hg]", T0.AddSeconds(5))),
        ];
        return Task.FromResult(new VitalsResult(request.PatientId != "p1" ? [] : [.. all.Where(v => v.Item2.Time >= request.From && v.Item2.Time < request.To)]));
    }

    public Task<WindowsResult> HandleAsync(WindowsQuery request, CancellationToken cancellationToken)
    {
        Queries.Enqueue(request);
        return Task.FromResult(new WindowsResult([]));
    }

    public Task<ErasePatientResult> HandleAsync(ErasePatientRequest request, CancellationToken cancellationToken)
    {
        Erased.Enqueue(request);
        return Task.FromResult(new ErasePatientResult(42));
    }
}
