using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Connector;

/// <summary>How a batch was taken: what the HTTP response body carries.</summary>
/// <param name="Sequence">The batch's sequence.</param>
/// <param name="Status">"stored" (published and committed) or "duplicate" (the last accepted sequence again; not stored twice).</param>
/// <param name="Gap">The gap this batch revealed, or null.</param>
public sealed record IngestResultDto(long Sequence, string Status, SequenceGapDto? Gap);

/// <summary>Batches that never arrived: <see cref="ExpectedSequence"/> to <see cref="ReceivedSequence"/> - 1.</summary>
/// <param name="ExpectedSequence">The sequence the Connector expected.</param>
/// <param name="ReceivedSequence">The sequence that came.</param>
/// <param name="MissingBatches">How many are missing.</param>
public sealed record SequenceGapDto(long ExpectedSequence, long ReceivedSequence, long MissingBatches);

/// <summary>
/// The one path every batch takes, HTTP or MQTT: validate, check the sequence under the device's gate, publish on the bus
/// and wait for it (in process that is Storage committing), and only then record the sequence and acknowledge.
/// </summary>
internal sealed partial class IngestionService(
    DeviceRegistry registry,
    BatchValidator validator,
    IMessageBus bus,
    ConnectorStats stats,
    IOptions<ConnectorOptions> options,
    TimeProvider time,
    ILogger<IngestionService> logger)
{
    public const string Stored = "stored";
    public const string Duplicate = "duplicate";
    private readonly ConnectorOptions options = options.Value;

    /// <summary>Counts a rejection (per reason and per device).</summary>
    public void CountRejected(DeviceState? device, Rejection rejection, string transport)
    {
        device?.CountRejected();
        stats.CountRejected(rejection.Code, transport);
        LogRejected(device?.DeviceId, transport, rejection.Code, rejection.Detail);
    }

    /// <summary>Validates and stores a decoded batch. Exactly one of the results is non-null.</summary>
    public async Task<(IngestResultDto? Result, Rejection? Rejection)> IngestAsync(DeviceState device, IncomingBatch batch, string transport, CancellationToken cancellationToken)
    {
        if (validator.Validate(batch) is { } invalid)
        {
            CountRejected(device, invalid, transport);
            return (null, invalid);
        }

        await device.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await IngestInOrderAsync(device, batch, transport, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            device.Gate.Release();
        }
    }

    private async Task<(IngestResultDto? Result, Rejection? Rejection)> IngestInOrderAsync(DeviceState device, IncomingBatch batch, string transport, CancellationToken cancellationToken)
    {
        long sequence = batch.Sequence;
        var now = time.GetUtcNow();
        NoteActivity(device, transport, now);
        if (device.LastSequence is { } last)
        {
            if (sequence == last)
            {
                // The device did not get our acknowledgement and sent it again: acknowledge, do not store twice.
                device.CountDuplicate();
                stats.CountDuplicate();
                return (new IngestResultDto(sequence, Duplicate, null), null);
            }

            if (sequence < last)
            {
                var replay = Rejection.Of(ErrorCodes.ReplayedSequence, StatusCodes.Status409Conflict,
                    $"Sequence {sequence} is lower than the last accepted one ({last}); sequences only move forward.");
                CountRejected(device, replay, transport);
                return (null, replay);
            }
        }

        SequenceGapDto? gap = device.LastSequence is { } previous && sequence > previous + 1
            ? new SequenceGapDto(previous + 1, sequence, sequence - previous - 1)
            : null;

        var pending = new List<Task>(2);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.AckTimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        long sampleCount = 0;
        if (batch.HasSamples)
        {
            var samples = new SamplesReceived(device.DeviceId, device.PatientId, sequence, batch.StartTime!.Value, batch.SampleRateHz!.Value,
                batch.Leads!, batch.Samples!, now, transport);
            sampleCount = (long)samples.SamplesPerLead * samples.Samples.Length;
            pending.Add(bus.PublishAsync(samples, linked.Token));
        }

        if (batch.HasObservations)
        {
            pending.Add(bus.PublishAsync(new VitalsReceived(device.DeviceId, device.PatientId, sequence, batch.Observations!, now), linked.Token));
        }

        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, Overloaded(device, sequence, transport, "the bus did not confirm within the acknowledgement timeout"));
        }
        catch (MessageDeliveryException ex)
        {
            return (null, Overloaded(device, sequence, transport, ex.Message));
        }

        // Durable now: only from here on may the sequence count as accepted. A crash before the save below means the
        // device resends, which Storage absorbs (its writes are idempotent on device and sequence).
        device.LastSequence = sequence;
        if (gap is not null)
        {
            device.Gaps++;
        }

        registry.SaveProgress(device);
        stats.CountAccepted(sampleCount, transport);
        if (batch.Observations?.LastOrDefault(o => o.Code == VitalCodes.Battery) is { } battery)
        {
            device.BatteryPercent = battery.Value;
        }

        if (gap is not null)
        {
            stats.CountGap();
            LogGap(device.DeviceId, gap.ExpectedSequence, sequence);
            await PublishQuietlyAsync(new SequenceGapDetected(device.DeviceId, device.PatientId, gap.ExpectedSequence, sequence, now)).ConfigureAwait(false);
        }

        return (new IngestResultDto(sequence, Stored, gap), null);
    }

    private Rejection Overloaded(DeviceState device, long sequence, string transport, string why)
    {
        stats.CountOverloaded();
        LogOverloaded(device.DeviceId, sequence, transport, why);
        return Rejection.Of(ErrorCodes.Overloaded, StatusCodes.Status503ServiceUnavailable,
            $"Batch {sequence} was not stored: {why}. Send it again after Retry-After.");
    }

    private void NoteActivity(DeviceState device, string transport, DateTimeOffset now)
    {
        var seen = device.LastSeenAt;
        device.LastSeenAt = now;
        if (transport == Transports.Http && (seen is null || now - seen.Value > TimeSpan.FromSeconds(options.HttpSilenceSeconds)))
        {
            _ = PublishQuietlyAsync(new DeviceConnectionChanged(device.DeviceId, device.PatientId, true, now, Transports.Http));
        }
    }

    /// <summary>Publishes an event nobody waits on (gaps, connection changes): its failure is logged, never surfaced to the device.</summary>
    public async Task PublishQuietlyAsync<T>(T message) where T : class
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.AckTimeoutSeconds), time);
            await bus.PublishAsync(message, timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A notification that could not be delivered must not fail the batch that caused it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogNotificationFailed(typeof(T).Name, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected a message from {DeviceId} over {Transport}: {Code}: {Detail}")]
    private partial void LogRejected(string? deviceId, string transport, string code, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {DeviceId} skipped from sequence {Expected} to {Received}")]
    private partial void LogGap(string deviceId, long expected, long received);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Sequence} of {DeviceId} over {Transport} not acknowledged: {Why}")]
    private partial void LogOverloaded(string deviceId, long sequence, string transport, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish {MessageType}")]
    private partial void LogNotificationFailed(string messageType, Exception exception);
}

/// <summary>The transports' names, as messages carry them.</summary>
internal static class Transports
{
    public const string Http = "http";
    public const string Mqtt = "mqtt";
}
