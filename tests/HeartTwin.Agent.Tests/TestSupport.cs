using System.Collections.Concurrent;
using HeartTwin.Contracts;
using HeartTwin.Inference;
using HeartTwin.Messaging;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Wfdb;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Agent.Tests;

/// <summary>Finds the repository and the shared MIT-BIH records (../shared/data/mitdb beside the repository, or HEARTTWIN_MITDB).</summary>
internal static class TestData
{
    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

    /// <summary>The repository's root folder (the one holding HeartTwin.slnx).</summary>
    public static string RepoRoot => HeartTwin.Testing.SharedTestPaths.RepoRoot;

    public static string Models => Path.Combine(RepoRoot, "models");
}

/// <summary>A record's reference beats with their model inputs, cut from the rhythm lead by the training extractor.</summary>
internal sealed class RecordBeats
{
    /// <summary>The spec of the shipped model, which the Agent's Inference serves.</summary>
    private static readonly BeatWindowSpec Spec = BeatWindowSpec.Version3;

    private static readonly ConcurrentDictionary<string, RecordBeats> Cache = new();

    private RecordBeats(string name)
    {
        var db = WfdbDatabase.Open(TestData.MitDb);
        var record = db.ReadRecord(name);
        Annotations = db.ReadAnnotations(name);
        SampleRateHz = record.SamplingFrequencyHz;
        var leads = EcgLeads.ReadMillivolts(record);
        var rhythm = EcgLeads.RhythmLead(record.Header);
        Lead = record.Header.Signals[EcgLeads.Select(record.Header)[rhythm]].Description;
        var beats = Annotations.Where(a => a.IsBeat).ToList();
        Samples = beats.Select(a => a.Sample).ToArray();
        Symbols = beats.Select(a => a.Mnemonic).ToArray();
        Features = BeatFeatureExtractor.ExtractAll(leads[rhythm], SampleRateHz, Samples, Spec);
    }

    public static RecordBeats Load(string name) => Cache.GetOrAdd(name, n => new RecordBeats(n));

    public IReadOnlyList<Annotation> Annotations { get; }

    public double SampleRateHz { get; }

    public string Lead { get; }

    public long[] Samples { get; }

    public string[] Symbols { get; }

    public List<BeatFeatures> Features { get; }

    public DateTimeOffset TimeOf(DateTimeOffset start, long sample) => start + TimeSpan.FromSeconds(sample / SampleRateHz);

    /// <summary>The record as BeatsAcquired messages, one per <paramref name="batchSeconds"/> of signal, from <paramref name="start"/>.</summary>
    public IEnumerable<BeatsAcquired> Messages(string patientId, string deviceId, DateTimeOffset start, double batchSeconds = 1, double? untilSeconds = null, Func<long, DateTimeOffset>? receivedAt = null)
    {
        long batchSamples = (long)(batchSeconds * SampleRateHz);
        int i = 0;
        long sequence = 0;
        long end = untilSeconds is double u ? (long)(u * SampleRateHz) : long.MaxValue;
        while (i < Samples.Length && Samples[i] < end)
        {
            long batchEnd = (sequence + 1) * batchSamples;
            int first = i;
            while (i < Samples.Length && Samples[i] < batchEnd && Samples[i] < end)
            {
                i++;
            }

            var beats = new List<AcquiredBeat>();
            var windows = new float[(i - first) * Spec.FeatureLength];
            var rr = new float[(i - first) * Spec.RrFeatureCount];
            for (int k = first; k < i; k++)
            {
                double rrMs = k == 0 ? 0 : (Samples[k] - Samples[k - 1]) * 1000.0 / SampleRateHz;
                beats.Add(new AcquiredBeat(TimeOf(start, Samples[k]), rrMs, Lead));
                Features[k].Window.CopyTo(windows, (k - first) * Spec.FeatureLength);
                Features[k].Rr.CopyTo(rr, (k - first) * Spec.RrFeatureCount);
            }

            var received = receivedAt?.Invoke(sequence) ?? TimeOf(start, batchEnd);
            yield return new BeatsAcquired(patientId, deviceId, sequence, received, Spec.FeatureSpecName, beats, windows, rr);
            sequence++;
        }
    }
}

/// <summary>A clock the test moves by hand; timers fire when it passes their due time.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            due = _timers.Where(t => t.Due <= _now).ToList();
        }

        foreach (var t in due)
        {
            t.Fire(this);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset Due { get; private set; } = DateTimeOffset.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                _period = period;
                owner._timers.Remove(this);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Due = owner._now + dueTime;
                    owner._timers.Add(this);
                }
            }

            if (dueTime == TimeSpan.Zero)
            {
                Fire(owner);
            }

            return true;
        }

        public void Fire(ManualTimeProvider clock)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
                {
                    Due = clock._now + _period;
                    owner._timers.Add(this);
                }
            }

            callback(state);
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Records what the Agent publishes.</summary>
internal sealed class Recorder : IMessageHandler<ActionProposed>, IMessageHandler<AnalysisCompleted>
{
    public ConcurrentQueue<ActionProposed> Proposals { get; } = new();

    public ConcurrentQueue<AnalysisCompleted> Analyses { get; } = new();

    public List<ActionProposed> Of(string eventType) => [.. Proposals.Where(p => p.EventType == eventType)];

    public TwinState? LatestState(string patientId) => Analyses.LastOrDefault(a => a.PatientId == patientId)?.State;

    public Task HandleAsync(ActionProposed message, MessageContext context, CancellationToken cancellationToken)
    {
        Proposals.Enqueue(message);
        return Task.CompletedTask;
    }

    public Task HandleAsync(AnalysisCompleted message, MessageContext context, CancellationToken cancellationToken)
    {
        Analyses.Enqueue(message);
        return Task.CompletedTask;
    }
}

/// <summary>Storage's answers, as the test sets them.</summary>
internal sealed class FakeStorage : IRequestHandler<WindowsQuery, WindowsResult>, IRequestHandler<PatientsQuery, PatientsResult>
{
    public ConcurrentBag<WindowAcquired> Windows { get; } = [];

    public List<PatientSummary> Patients { get; } = [];

    public int WindowQueries;

    public Task<WindowsResult> HandleAsync(WindowsQuery request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref WindowQueries);
        var list = Windows.Where(w => w.PatientId == request.PatientId && w.Start >= request.From && w.Start < request.To)
            .OrderBy(w => w.Start).ToList();
        if (list.Count > request.Limit)
        {
            list = request.Latest ? list[^request.Limit..] : list[..request.Limit];
        }

        return Task.FromResult(new WindowsResult(list));
    }

    public Task<PatientsResult> HandleAsync(PatientsQuery request, CancellationToken cancellationToken) =>
        Task.FromResult(new PatientsResult([.. Patients]));
}

/// <summary>The bus, the Inference block with the shipped model, the Agent, and fakes for Storage, on a hand-moved clock.</summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Epoch = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private AgentHarness(IHost host, ManualTimeProvider clock, FakeStorage storage)
    {
        Host = host;
        Clock = clock;
        Storage = storage;
        Bus = host.Services.GetRequiredService<IMessageBus>();
        Recorder = host.Services.GetRequiredService<Recorder>();
        Scheduler = host.Services.GetRequiredService<AgentScheduler>();
    }

    public IHost Host { get; }

    public ManualTimeProvider Clock { get; }

    public FakeStorage Storage { get; }

    public IMessageBus Bus { get; }

    public Recorder Recorder { get; }

    internal AgentScheduler Scheduler { get; }

    public static async Task<AgentHarness> StartAsync(Dictionary<string, string?>? settings = null, FakeStorage? storage = null, bool withStorage = true, Action<IServiceCollection>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = TestData.RepoRoot });
        var config = new Dictionary<string, string?>
        {
            ["Inference:ModelsDirectory"] = TestData.Models,
            ["Messaging:MaxAttempts"] = "2",
            ["Messaging:RetryDelayMs"] = "1",
            // The tests step the analysis themselves; the scheduler's own ticks are an hour apart unless a test says otherwise.
            ["Agent:IntervalSeconds"] = "3600",
        };
        foreach (var (k, v) in settings ?? [])
        {
            config[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(config);
        var clock = new ManualTimeProvider(Epoch);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddMessaging();
        builder.AddInferenceBlock();
        builder.AddAgent();
        storage ??= new FakeStorage();
        if (withStorage)
        {
            builder.Services.AddSingleton(storage);
            builder.Services.AddRequestHandler<WindowsQuery, WindowsResult, FakeStorage>();
            builder.Services.AddRequestHandler<PatientsQuery, PatientsResult, FakeStorage>();
        }

        builder.Services.AddMessageHandler<ActionProposed, Recorder>();
        builder.Services.AddMessageHandler<AnalysisCompleted, Recorder>();
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<TwinRegistry>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        return new AgentHarness(host, clock, storage);
    }

    /// <summary>Publishes messages with the clock at each one's arrival, running an analysis every <paramref name="analyseEvery"/> messages.</summary>
    public async Task FeedAsync(IEnumerable<BeatsAcquired> messages, int analyseEvery = 10)
    {
        int n = 0;
        foreach (var m in messages)
        {
            var ahead = m.SourceReceivedAt - Clock.GetUtcNow();
            if (ahead > TimeSpan.Zero)
            {
                Clock.Advance(ahead);
            }

            await Bus.PublishAsync(m);
            if (++n % analyseEvery == 0)
            {
                await Scheduler.RunOnceAsync();
            }
        }

        await Scheduler.RunOnceAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        try
        {
            Host.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // The container disposes InMemoryBus twice (as itself and as IMessageBus) and its DisposeAsync is not
            // idempotent: a Messaging bug, reported; nothing of the Agent's.
        }
    }
}
