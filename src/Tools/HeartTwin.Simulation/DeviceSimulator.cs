using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Simulation;

/// <summary>How a <see cref="DeviceSimulator"/> streams.</summary>
internal sealed record DeviceSimulatorOptions
{
    /// <summary>The device id (also the MQTT client id and username).</summary>
    public required string DeviceId { get; init; }

    /// <summary>Signal time per batch, ms.</summary>
    public int BatchMs { get; init; } = 1000;

    /// <summary>Pacing: 1 = real time, X = X times faster, 0 = as fast as acknowledged.</summary>
    public double Speed { get; init; } = 1;

    /// <summary>Replay the record forever, with continuing sequence and time.</summary>
    public bool Loop { get; init; }

    /// <summary>Sequence number of the first batch.</summary>
    public long StartSequence { get; init; }

    /// <summary>Stop after this much signal time; null = the whole record (or forever with <see cref="Loop"/>).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Where in the record the stream begins, in samples per lead.</summary>
    public long StartOffsetSamples { get; init; }

    /// <summary>Signal time of the first sample; null = now (UTC) when the stream starts.</summary>
    public DateTimeOffset? StartTime { get; init; }
}

/// <summary>A consistent copy of a simulator's counters.</summary>
internal sealed record DeviceStats(
    long BatchesSent, long BatchesAcked, long Duplicates, long Retries, long Rejected,
    long SamplesSent, long SamplesAcked, long Commands, TimeSpan MaxLag, TimeSpan SignalTime);

/// <summary>
/// Streams a record as one device would: consecutive batches of every lead's integer samples with strictly increasing sequence
/// numbers and start times that advance with the samples, each sent only after the previous one was acknowledged (durable).
/// It is also the device's actuator: it acknowledges every command it receives. Reusable by the CLI (<c>simulate</c>,
/// <c>load</c>), the host's demo mode and the integration tests; the transport decides MQTT or HTTP.
/// </summary>
internal sealed class DeviceSimulator : IAsyncDisposable
{
    private readonly SimulatedRecord _record;
    private readonly IDeviceTransport _transport;
    private readonly DeviceSimulatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly RecordBatcher _batcher;
    private readonly long _limitSamples;
    private readonly HashSet<string> _commandIds = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _nextSequence;
    private DateTimeOffset _signalStart;
    private long _batchesSent, _batchesAcked, _duplicates, _retries, _rejected, _samplesSent, _samplesAcked, _commands;
    private long _maxLagTicks;
    private bool _started;

    public DeviceSimulator(SimulatedRecord record, IDeviceTransport transport, DeviceSimulatorOptions options, TimeProvider? time = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchMs <= 0 || options.Speed < 0 || double.IsNaN(options.Speed) || options.StartSequence < 0)
        {
            throw new ArgumentException("BatchMs must be positive, Speed ≥ 0 and StartSequence ≥ 0.", nameof(options));
        }

        _record = record;
        _transport = transport;
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = log ?? (_ => { });
        int perBatch = Math.Max(1, (int)Math.Round(record.SampleRateHz * options.BatchMs / 1000.0));
        _batcher = new RecordBatcher(record, perBatch, options.Loop, options.StartOffsetSamples);
        _limitSamples = options.Duration is { } d ? (long)Math.Round(d.TotalSeconds * record.SampleRateHz) : long.MaxValue;
        _nextSequence = options.StartSequence;
    }

    public string DeviceId => _options.DeviceId;

    /// <summary>Samples per lead in a full batch.</summary>
    public int SamplesPerBatch => _batcher.SamplesPerBatch;

    /// <summary>Signal time of one full batch.</summary>
    public TimeSpan BatchPeriod => TimeSpan.FromSeconds(SamplesPerBatch / _record.SampleRateHz);

    /// <summary>Signal time of the first sample.</summary>
    public DateTimeOffset SignalStart => _signalStart;

    /// <summary>Signal time just after the last sample handed out.</summary>
    public DateTimeOffset SignalEnd => _signalStart + TimeSpan.FromSeconds(_batcher.SamplesTaken / _record.SampleRateHz);

    /// <summary>Called with each acknowledged batch and its send-to-acknowledgement time.</summary>
    public Action<SimulatedBatch, TimeSpan>? Acknowledged { get; set; }

    /// <summary>Connects and starts acknowledging commands. <see cref="RunAsync"/> calls it when needed.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        _signalStart = _options.StartTime ?? _time.GetUtcNow();
        await _transport.StartAsync(OnCommand, cancellationToken).ConfigureAwait(false);
        _started = true;
    }

    /// <summary>
    /// Sends the next batch and waits for its acknowledgement. Returns false when the record (or the duration) has ended.
    /// </summary>
    /// <param name="due">When the batch was due, for the lag figure (how far the device fell behind real time).</param>
    /// <param name="cancellationToken">Stops waiting; the batch then counts as sent but not acknowledged.</param>
    /// <exception cref="DeviceRejectedException">The twin refused the device or the batch for good.</exception>
    public async Task<bool> SendNextAsync(DateTimeOffset? due, CancellationToken cancellationToken)
    {
        long before = _batcher.SamplesTaken;
        var slice = _batcher.Next(_limitSamples - before);
        if (slice is null)
        {
            return false;
        }

        var batch = new SimulatedBatch(
            _nextSequence++, _signalStart + TimeSpan.FromSeconds(before / _record.SampleRateHz), _record.SampleRateHz, _record.Leads, slice);
        Interlocked.Increment(ref _batchesSent);
        Interlocked.Add(ref _samplesSent, batch.TotalSamples);
        long sentAt = _time.GetTimestamp();
        var outcome = await _transport.SendAsync(batch, cancellationToken).ConfigureAwait(false);
        var latency = _time.GetElapsedTime(sentAt);
        Interlocked.Add(ref _retries, outcome.Retries);
        if (outcome.Rejected)
        {
            Interlocked.Increment(ref _rejected);
            _log($"{DeviceId}: batch {batch.Sequence} was rejected: {outcome.Detail}");
            return true;
        }

        Interlocked.Increment(ref _batchesAcked);
        Interlocked.Add(ref _samplesAcked, batch.TotalSamples);
        if (outcome.Duplicate)
        {
            Interlocked.Increment(ref _duplicates);
        }

        if (due is { } d)
        {
            long lag = (_time.GetUtcNow() - d).Ticks;
            long seen;
            while (lag > (seen = Interlocked.Read(ref _maxLagTicks)) && Interlocked.CompareExchange(ref _maxLagTicks, lag, seen) != seen)
            {
            }
        }

        Acknowledged?.Invoke(batch, latency);
        return true;
    }

    /// <summary>
    /// Streams until the record or the duration ends, or until cancelled, pacing each batch to leave when its last sample
    /// would have been acquired (divided by the speed). Cancellation ends it cleanly: the result is the counters so far.
    /// </summary>
    /// <param name="progressInterval">How often (wall time) to report progress; null = never.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    public async Task<DeviceStats> RunAsync(TimeSpan? progressInterval, CancellationToken cancellationToken)
    {
        try
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
            long origin = _time.GetTimestamp();
            long lastProgress = origin;
            while (!cancellationToken.IsCancellationRequested)
            {
                DateTimeOffset? due = null;
                if (_options.Speed > 0)
                {
                    // A device sends a batch once its last sample exists: the end of the batch, in wall time at this speed.
                    long endSamples = Math.Min(_batcher.SamplesTaken + SamplesPerBatch, _limitSamples);
                    var offset = TimeSpan.FromSeconds(endSamples / _record.SampleRateHz / _options.Speed);
                    var wait = offset - _time.GetElapsedTime(origin);
                    due = _time.GetUtcNow() + (wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (!await SendNextAsync(due, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                if (progressInterval is { } every && _time.GetElapsedTime(lastProgress) >= every)
                {
                    lastProgress = _time.GetTimestamp();
                    _log(ProgressLine());
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C or the load run ended: a clean stop.
        }

        return Snapshot();
    }

    /// <summary>One line of progress.</summary>
    public string ProgressLine()
    {
        var s = Snapshot();
        return string.Create(CultureInfo.InvariantCulture,
            $"{DeviceId}: signal {s.SignalTime:hh\\:mm\\:ss}, batches sent {s.BatchesSent}, acked {s.BatchesAcked}, retries {s.Retries}, duplicates {s.Duplicates}, commands {s.Commands}");
    }

    public DeviceStats Snapshot() => new(
        Interlocked.Read(ref _batchesSent), Interlocked.Read(ref _batchesAcked), Interlocked.Read(ref _duplicates),
        Interlocked.Read(ref _retries), Interlocked.Read(ref _rejected), Interlocked.Read(ref _samplesSent),
        Interlocked.Read(ref _samplesAcked), Interlocked.Read(ref _commands), TimeSpan.FromTicks(Interlocked.Read(ref _maxLagTicks)),
        TimeSpan.FromSeconds(_batcher.SamplesTaken / _record.SampleRateHz));

    private AckDto OnCommand(CommandDto command)
    {
        lock (_gate)
        {
            if (_commandIds.Add(command.CommandId))
            {
                Interlocked.Increment(ref _commands);
            }
        }

        var parameters = string.Join(", ", command.Parameters.Select(p => $"{p.Key}={p.Value}"));
        _log($"{DeviceId}: command {command.CommandId} {command.Name}({parameters}) issued {command.IssuedAt:O}");
        // The simulator replays a recording: it cannot change how the recording was sampled, so it says so but accepts.
        string? detail = command.Name == DeviceCommands.SetSampleRate
            ? string.Create(CultureInfo.InvariantCulture, $"set-sample-rate is not supported by the simulator; it keeps streaming the record at {_record.SampleRateHz} Hz")
            : null;
        return new AckDto { CommandId = command.CommandId, Status = "accepted", Detail = detail };
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();
}
