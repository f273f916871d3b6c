using System.Diagnostics;
using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Signals.Beats;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Agent;

/// <summary>
/// Runs the analysis: every <see cref="AgentOptions.IntervalSeconds"/>, and at once when asked. A run classifies every
/// patient's pending beats in one batched request, pulls due patients' latest windows from Storage, folds everything
/// into the twins, and publishes the proposals and an <see cref="AnalysisCompleted"/> per patient that changed.
/// On start it rebuilds the twins from Storage's latest states (<see cref="PatientsQuery"/>).
/// </summary>
internal sealed partial class AgentScheduler(
    TwinRegistry registry, IMessageBus bus, TimeProvider time, IOptions<AgentOptions> options, ILogger<AgentScheduler> logger) : BackgroundService
{
    private const int Parallelism = 16;
    private static readonly TimeSpan RebuildTimeout = TimeSpan.FromSeconds(30);
    private readonly AgentOptions _options = options.Value;
    private readonly SemaphoreSlim _runGate = new(1, 1);
    private bool _windowsUnavailableLogged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RebuildAsync(stoppingToken).ConfigureAwait(false);
        var interval = TimeSpan.FromSeconds(_options.IntervalSeconds);
        var next = time.GetUtcNow() + interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = next - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delay = Task.Delay(wait, time, either.Token);
                var wake = registry.WaitForWakeAsync(either.Token);
                await Task.WhenAny(delay, wake).ConfigureAwait(false);
                await either.CancelAsync().ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
                if (wake.IsCompletedSuccessfully && !delay.IsCompletedSuccessfully)
                {
                    await RunGuardedAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }
            }

            next += interval;
            if (next < time.GetUtcNow())
            {
                // A run longer than the interval: go on from now rather than running back to back to catch up.
                next = time.GetUtcNow() + interval;
            }

            await RunGuardedAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task RunGuardedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // One failed run must not stop the twin: the next tick tries again.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRunFailed(e);
        }
    }

    /// <summary>Where the last run's time went (for benchmarks and the load tool's profile).</summary>
    internal RunTimings? LastRun { get; private set; }

    /// <summary>One analysis run over every patient (the scheduler calls it; tests call it to step deterministically).</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await _runGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow();
            long t0 = Stopwatch.GetTimestamp();
            var work = Collect(now);
            await ClassifyAsync(work, cancellationToken).ConfigureAwait(false);
            long t1 = Stopwatch.GetTimestamp();
            await PullWindowsAsync(work, now, cancellationToken).ConfigureAwait(false);
            long t2 = Stopwatch.GetTimestamp();
            foreach (var item in work)
            {
                Fold(item, now);
            }

            long t3 = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(work.Where(w => w.Proposals.Count > 0 || w.Completed is not null),
                new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
                PublishAsync).ConfigureAwait(false);
            long t4 = Stopwatch.GetTimestamp();
            LastRun = new RunTimings(work.Count, work.Sum(w => w.Beats.Count), Stopwatch.GetElapsedTime(t0, t1), Stopwatch.GetElapsedTime(t1, t2),
                Stopwatch.GetElapsedTime(t2, t3), Stopwatch.GetElapsedTime(t3, t4));
        }
        finally
        {
            _runGate.Release();
        }
    }

    private List<TwinWork> Collect(DateTimeOffset now)
    {
        var work = new List<TwinWork>();
        foreach (var twin in registry.Twins)
        {
            var item = new TwinWork(twin);
            lock (twin.Gate)
            {
                if (twin.Pending.Count > 0)
                {
                    item.Beats = twin.Pending;
                    twin.Pending = [];
                }

                item.Proposals.AddRange(twin.Outbox);
                twin.Outbox.Clear();
                item.Forced = twin.AnalysisRequested;
                item.StatusChanged = twin.StatusChanged;
                twin.AnalysisRequested = false;
                twin.StatusChanged = false;
                CheckSilence(twin, now, item.Detections);
            }

            item.PollWindows = item.Forced || now >= twin.NextWindowsPoll;
            if (item.Beats.Count > 0 || item.Proposals.Count > 0 || item.Forced || item.StatusChanged || item.PollWindows || item.Detections.Count > 0)
            {
                work.Add(item);
            }
        }

        return work;
    }

    private void CheckSilence(PatientTwin twin, DateTimeOffset now, List<Detection> found)
    {
        foreach (var stream in twin.Devices.Values)
        {
            if (stream.LastDataAt is not { } last || stream.SilentProposed || (now - last).TotalSeconds < _options.DeviceSilentSeconds)
            {
                continue;
            }

            stream.SilentProposed = true;
            stream.Connected = false;
            twin.StatusChanged = true;
            var silentAt = last + TimeSpan.FromSeconds(_options.DeviceSilentSeconds);
            found.Add(new Detection(EventTypes.DeviceSilent, stream.DeviceId, last.UtcTicks.ToString(CultureInfo.InvariantCulture), "warning",
                string.Create(CultureInfo.InvariantCulture,
                    $"Device {stream.DeviceId} has sent no data for {(now - last).TotalSeconds:0} s (last at {last.UtcDateTime:HH:mm:ss} UTC): the patient is not monitored."),
                silentAt, silentAt, new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["lastDataAt"] = last.ToString("O", CultureInfo.InvariantCulture),
                    ["silentSeconds"] = (now - last).TotalSeconds.ToString("0", CultureInfo.InvariantCulture),
                    ["limitSeconds"] = _options.DeviceSilentSeconds.ToString("0.#", CultureInfo.InvariantCulture),
                }));
        }
    }

    private async Task ClassifyAsync(List<TwinWork> work, CancellationToken cancellationToken)
    {
        // One request for every patient's beats (per feature spec, split at MaxBatchBeats): the model runs batched.
        foreach (var group in work.SelectMany(w => w.Beats).GroupBy(b => (b.FeatureSpec, b.WindowLength, b.RrLength)))
        {
            var beats = group.ToList();
            for (int start = 0; start < beats.Count; start += _options.MaxBatchBeats)
            {
                int count = Math.Min(_options.MaxBatchBeats, beats.Count - start);
                var (spec, windowLength, rrLength) = group.Key;
                var windows = new float[count * windowLength];
                var rr = new float[count * rrLength];
                for (int i = 0; i < count; i++)
                {
                    var b = beats[start + i];
                    Array.Copy(b.Windows, b.WindowOffset, windows, i * windowLength, windowLength);
                    Array.Copy(b.RrFeatures, b.RrOffset, rr, i * rrLength, rrLength);
                }

                try
                {
                    var result = await bus.RequestAsync<ClassifyBeatsRequest, ClassifyBeatsResult>(
                        new ClassifyBeatsRequest(spec, count, windows, rr, string.IsNullOrEmpty(_options.Model) ? null : _options.Model), cancellationToken).ConfigureAwait(false);
                    Apply(result, beats, start, count);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // Without classes the beats still give rate, rhythm and HRV: fold them unclassified.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogClassifyFailed(count, spec, e);
                }
            }
        }
    }

    private static void Apply(ClassifyBeatsResult result, List<PendingBeat> beats, int start, int count)
    {
        int classes = result.Labels.Count;
        if (classes == 0 || result.Probabilities.Length != count * classes)
        {
            throw new InvalidOperationException($"Inference answered {result.Probabilities.Length} probabilities for {count} beats of {classes} classes.");
        }

        if (result.VentricularEctopy is { } ectopy && ectopy.Length != count)
        {
            throw new InvalidOperationException($"Inference answered {ectopy.Length} ectopy flags for {count} beats.");
        }

        if (result.Families is { } settings)
        {
            // Checked here, where a bad answer fails only its chunk, not when the beats are folded.
            try
            {
                FamilyInput.RuleOf(settings).Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"Inference answered unusable morphology families: {e.Message}", e);
            }

            if (settings.WindowSamples < 1 || result.ClassesIfNormal is null || result.ClassesIfNormalInAf is null)
            {
                throw new InvalidOperationException("Inference answered morphology families without a window length or without the classes of N calls.");
            }
        }

        foreach (var decided in new[] { result.Classes, result.ClassesInAf, result.ClassesIfNormal, result.ClassesIfNormalInAf })
        {
            if (decided is not null && (decided.Length != count || decided.Any(c => (uint)c >= (uint)classes)))
            {
                throw new InvalidOperationException($"Inference answered {decided.Length} classes for {count} beats, or a class outside its {classes} labels.");
            }
        }

        for (int i = 0; i < count; i++)
        {
            var p = result.Probabilities.AsSpan(i * classes, classes);
            int likeliest = 0;
            for (int k = 1; k < classes; k++)
            {
                if (p[k] > p[likeliest])
                {
                    likeliest = k;
                }
            }

            // The model's decision may overrule the most probable label (a premature beat the network calls N is S). Then the
            // network vouched for the pair it chose between, not for the decided label alone, whose own probability may be tiny.
            int best = result.Classes is { } c ? c[i] : likeliest;
            beats[start + i].Class = result.Labels[best];
            beats[start + i].Confidence = Confidence(p, best, likeliest);
            if (result.ClassesInAf is { } inAf)
            {
                // The decision depends on the rhythm: the stream's AF state at this very beat picks, when it is folded.
                beats[start + i].ClassInAf = result.Labels[inAf[i]];
                beats[start + i].ConfidenceInAf = Confidence(p, inAf[i], likeliest);
            }
            beats[start + i].VentricularEctopy = result.VentricularEctopy is { } e && e[i];
            beats[start + i].ModelId = result.ModelId;
            if (result.Families is { } families && result.ClassesIfNormal is { } ifNormal && result.ClassesIfNormalInAf is { } ifNormalInAf)
            {
                // The model's morphology families are per-stream state: the beat is voted in its stream's families as it is
                // folded, in order, with the stream's AF state at that beat (PendingBeat.SettleRhythm).
                beats[start + i].Family = new FamilyInput(
                    result.ModelId, families, result.VentricularInAfMinProbability, result.Labels, p.ToArray(), likeliest,
                    ifNormal[i], ifNormalInAf[i]);
            }
        }
    }

    private static double Confidence(ReadOnlySpan<float> p, int decided, int likeliest) => PendingBeat.ConfidenceOf(p, decided, likeliest);

    private async Task PullWindowsAsync(List<TwinWork> work, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(work.Where(w => w.PollWindows), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (item, ct) =>
            {
                var twin = item.Twin;
                twin.NextWindowsPoll = now + TimeSpan.FromSeconds(_options.WindowsPollSeconds);
                try
                {
                    var result = await bus.RequestAsync<WindowsQuery, WindowsResult>(
                        new WindowsQuery(twin.PatientId, twin.LatestWindowStart ?? DateTimeOffset.MinValue, DateTimeOffset.MaxValue, Limit: 100, Latest: true), ct).ConfigureAwait(false);
                    item.Windows = result.Windows;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
#pragma warning disable CA1031 // Storage absent or failing: quality stays as it was, the rest of the analysis goes on.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    if (!_windowsUnavailableLogged)
                    {
                        _windowsUnavailableLogged = true;
                        LogWindowsFailed(twin.PatientId, e);
                    }
                }
            }).ConfigureAwait(false);
    }

    private void Fold(TwinWork item, DateTimeOffset now)
    {
        var twin = item.Twin;
        var found = item.Detections;
        var classified = new List<ClassifiedBeat>(item.Beats.Count);
        string? deviceId;
        lock (twin.Gate)
        {
            deviceId = twin.CurrentDeviceId;
            foreach (var b in item.Beats)
            {
                var stream = twin.Device(b.DeviceId);
                stream.Fold(b, _options, twin, found);
                if (b.Class is not null)
                {
                    twin.BeatCounts[b.Class] = twin.BeatCounts.GetValueOrDefault(b.Class) + 1;
                    twin.ModelId = b.ModelId;
                    classified.Add(new ClassifiedBeat(b.Beat.Time, b.Class, b.Confidence));
                }

                twin.LastSequence = b.Sequence;
                twin.SignalTime = twin.SignalTime is { } t && t > b.Beat.Time ? t : b.Beat.Time;
            }

            foreach (var w in item.Windows.OrderBy(w => w.WindowSequence))
            {
                var stream = twin.Device(w.DeviceId);
                if (w.WindowSequence <= stream.LastWindowSequence)
                {
                    continue;
                }

                stream.FoldWindow(w, _options, found);
                twin.SignalQuality = w.Quality;
                twin.LatestWindowStart = twin.LatestWindowStart is { } s && s > w.Start ? s : w.Start;
                item.StatusChanged = true;
                if (stream.LastDataAt is { } last && w.SourceReceivedAt > last && w.SourceReceivedAt <= now)
                {
                    stream.LastDataAt = w.SourceReceivedAt;
                }
            }

            foreach (var d in found)
            {
                item.Proposals.Add(Propose(twin.PatientId, d, now));
                if (d.EventType == EventTypes.AfOnset && _options.AfOnsetCapture12LeadSeconds > 0)
                {
                    item.Proposals.Add(Capture12Lead(twin.PatientId, d, now));
                }
            }

            item.Proposals.RemoveAll(p => !twin.TryRemember(p.ActionId));
            if (item.Beats.Count > 0 || item.Forced || item.StatusChanged || found.Count > 0 || twin.LastState is null && twin.Devices.Count > 0)
            {
                var state = State(twin, deviceId, now);
                twin.LastState = state;
                item.Completed = new AnalysisCompleted(twin.PatientId, state, classified, deviceId);
            }
        }
    }

    private static TwinState State(PatientTwin twin, string? deviceId, DateTimeOffset now)
    {
        var stream = deviceId is null ? null : twin.Devices.GetValueOrDefault(deviceId);
        var hrv = stream?.Hrv();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var label in BeatClasses.All)
        {
            counts[label] = 0;
        }

        foreach (var (label, count) in twin.BeatCounts)
        {
            counts[label] = count;
        }

        var rhythm = stream?.Rhythm ?? RhythmLabels.Unknown;
        if (rhythm == RhythmLabels.Unknown && twin.RestoredRhythm is not null)
        {
            rhythm = twin.RestoredRhythm;
        }

        return new TwinState(
            twin.PatientId, now, twin.SignalTime,
            Finite(stream?.AverageHeartRateBpm), Finite(stream?.InstantHeartRateBpm),
            Finite(hrv?.SdnnMs), Finite(hrv?.RmssdMs), Finite(hrv?.Pnn50Percent),
            rhythm, counts,
            twin.AfFlaggedBeats > 0 ? 100.0 * twin.AfBeats / twin.AfFlaggedBeats : 0,
            twin.SignalQuality, twin.ModelId, deviceId,
            stream?.Connected ?? false, twin.LastSequence);
    }

    private static double? Finite(double? value) => value is double v && double.IsFinite(v) ? v : null;

    private ActionProposed Propose(string patientId, Detection d, DateTimeOffset now)
    {
        DeviceCommand? command = null;
        if (_options.Commands.TryGetValue(d.EventType, out var configured) && configured is { Name.Length: > 0 })
        {
            var parameters = new Dictionary<string, string>(configured.Parameters, StringComparer.Ordinal);
            if (configured.Name == DeviceCommands.RaiseAlarm)
            {
                parameters.TryAdd("message", d.Reason);
            }

            command = new DeviceCommand(configured.Name, parameters);
        }

        return new ActionProposed(ProposalIds.For(patientId, d.EventType, d.DeviceId, d.Key), patientId, d.DeviceId, d.EventType, d.Severity,
            d.Reason, d.OccurredAt, d.SourceReceivedAt, now, "agent", command, d.Details);
    }

    private ActionProposed Capture12Lead(string patientId, Detection d, DateTimeOffset now) =>
        new(ProposalIds.For(patientId, d.EventType, d.DeviceId, d.Key + "+capture-12-lead"), patientId, d.DeviceId, d.EventType, "info",
            d.Reason + " A 12-lead recording would confirm it.", d.OccurredAt, d.SourceReceivedAt, now, "agent",
            new DeviceCommand(DeviceCommands.Capture12Lead, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["durationSeconds"] = _options.AfOnsetCapture12LeadSeconds.ToString(CultureInfo.InvariantCulture),
            }),
            d.Details);

    private async ValueTask PublishAsync(TwinWork item, CancellationToken cancellationToken)
    {
        try
        {
            // Proposals first: the alert is what the arrival-to-alert latency measures.
            foreach (var p in item.Proposals)
            {
                await bus.PublishAsync(p, cancellationToken).ConfigureAwait(false);
            }

            if (item.Completed is not null)
            {
                await bus.PublishAsync(item.Completed, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A subscriber that failed every attempt parked the message; the other patients go on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogPublishFailed(item.Twin.PatientId, e);
        }
    }

    private async Task RebuildAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(RebuildTimeout);
            var result = await bus.RequestAsync<PatientsQuery, PatientsResult>(new PatientsQuery(), timeout.Token).ConfigureAwait(false);
            int restored = 0;
            foreach (var summary in result.Patients)
            {
                Restore(registry.Get(summary.PatientId), summary);
                restored++;
            }

            LogRebuilt(restored);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Without Storage the twin starts empty rather than not at all.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRebuildFailed(e);
        }
        finally
        {
            registry.MarkReady();
        }
    }

    /// <summary>What a restart keeps: counts, AF burden, the episode in progress, the beats already covered, the device list.</summary>
    internal static void Restore(PatientTwin twin, PatientSummary summary)
    {
        lock (twin.Gate)
        {
            foreach (var device in summary.Devices)
            {
                twin.Device(device);
            }

            if (summary.State is not { } state)
            {
                return;
            }

            long total = 0;
            foreach (var (label, count) in state.BeatCounts)
            {
                twin.BeatCounts[label] = count;
                total += count;
            }

            twin.AfFlaggedBeats = total;
            twin.AfBeats = (long)Math.Round(total * state.AfBurdenPercent / 100.0);
            twin.ModelId = state.ModelId;
            twin.SignalQuality = state.SignalQuality;
            twin.LastSequence = state.LastSequence;
            twin.SignalTime = state.SignalTime;
            twin.CurrentDeviceId = state.DeviceId;
            twin.RestoredRhythm = state.Rhythm;
            foreach (var stream in twin.Devices.Values)
            {
                // Beats up to the state's signal time were analysed before the restart; redelivered ones are dropped.
                stream.AcceptedUpTo = state.SignalTime;
            }

            if (state.DeviceId is not null && state.Rhythm == RhythmLabels.AtrialFibrillation)
            {
                twin.Device(state.DeviceId).AfActive = true;
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _runGate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "An analysis run failed")]
    private partial void LogRunFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Classifying {Count} beats ({FeatureSpec}) failed; they are folded without classes")]
    private partial void LogClassifyFailed(int count, string featureSpec, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pulling windows of {PatientId} from Storage failed (logged once); signal quality is not updated")]
    private partial void LogWindowsFailed(string patientId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing the analysis of {PatientId} failed")]
    private partial void LogPublishFailed(string patientId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt {Count} twins from Storage")]
    private partial void LogRebuilt(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not rebuild the twins from Storage; starting empty")]
    private partial void LogRebuildFailed(Exception exception);

    /// <summary>One patient's share of a run.</summary>
    private sealed class TwinWork(PatientTwin twin)
    {
        public PatientTwin Twin { get; } = twin;

        public List<PendingBeat> Beats { get; set; } = [];

        public List<ActionProposed> Proposals { get; } = [];

        public List<Detection> Detections { get; } = [];

        public IReadOnlyList<WindowAcquired> Windows { get; set; } = [];

        public bool Forced { get; set; }

        public bool StatusChanged { get; set; }

        public bool PollWindows { get; set; }

        public AnalysisCompleted? Completed { get; set; }
    }
}

/// <summary>Where one analysis run's time went.</summary>
internal sealed record RunTimings(int Patients, int Beats, TimeSpan Classify, TimeSpan Windows, TimeSpan Fold, TimeSpan Publish);
