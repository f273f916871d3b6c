using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Acquisition;

/// <summary>
/// Runs each device's sample batches through its stream's pipeline and publishes what they complete:
/// one <see cref="BeatsAcquired"/> per batch that completes beats, one <see cref="WindowAcquired"/> per closed window.
/// </summary>
/// <remarks>
/// <para>Idempotent: a batch whose sequence is not above the last one processed for its device is a redelivery and
/// changes nothing. Messages are queued in the stream's outbox before they are published; a publish that fails leaves
/// them there, the bus redelivers the batch, and the outbox goes out first, so nothing is lost and the keys
/// (device, batch sequence) and (device, window index) let Storage drop what it already has.</para>
/// <para>A batch that does not continue its stream in time (a gap or overlap beyond one sample period), or that
/// brings a new rate or other leads, ends the segment (pending beats flushed) and starts a fresh pipeline.
/// A batch that cannot be processed is logged and skipped, never thrown back to the bus.</para>
/// </remarks>
internal sealed partial class SamplesReceivedHandler(
    StreamRegistry streams,
    IMessageBus bus,
    IOptions<AcquisitionOptions> options,
    TimeProvider time,
    ILogger<SamplesReceivedHandler> logger) : IMessageHandler<SamplesReceived>
{
    private readonly TimeSpan _window = TimeSpan.FromSeconds(options.Value.WindowSeconds);
    private readonly int _maxUnpublished = options.Value.MaxUnpublishedMessages;

    /// <inheritdoc />
    public async Task HandleAsync(SamplesReceived message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (string.IsNullOrEmpty(message.DeviceId))
        {
            LogSkipped(message.DeviceId ?? "", message.Sequence, "no device id");
            return;
        }

        var state = streams.Get(message.DeviceId);
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            state.LastActivity = time.GetUtcNow();
            await PublishOutboxAsync(state, cancellationToken).ConfigureAwait(false);
            if (message.Sequence <= state.LastSequence)
            {
                LogRedelivery(message.DeviceId, message.Sequence, state.LastSequence);
                return;
            }

            state.LastSequence = message.Sequence;
            var problem = BatchCheck.Problem(message);
            if (problem is not null)
            {
                LogSkipped(message.DeviceId, message.Sequence, problem);
                return;
            }

            if (message.SamplesPerLead == 0)
            {
                return;
            }

            try
            {
                var restart = state.Process(message, _window);
                if (restart is not null)
                {
                    LogRestarted(message.DeviceId, message.Sequence, restart);
                }
            }
#pragma warning disable CA1031 // Whatever a batch does to the signal code, the stream must go on: it restarts clean on the next batch.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                state.Pipeline = null;
                LogFailed(message.DeviceId, message.Sequence, ex);
            }

            while (state.Outbox.Count > _maxUnpublished)
            {
                state.Outbox.Dequeue();
                LogOutboxFull(message.DeviceId, _maxUnpublished);
            }

            await PublishOutboxAsync(state, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    private async Task PublishOutboxAsync(StreamState state, CancellationToken cancellationToken)
    {
        while (state.Outbox.TryPeek(out var next))
        {
            var publish = next switch
            {
                BeatsAcquired beats => bus.PublishAsync(beats, cancellationToken),
                WindowAcquired window => bus.PublishAsync(window, cancellationToken),
                _ => Task.CompletedTask,
            };
            await publish.ConfigureAwait(false);
            state.Outbox.Dequeue();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Batch {Sequence} of {DeviceId} is a redelivery (last processed {LastSequence}); ignored")]
    private partial void LogRedelivery(string deviceId, long sequence, long lastSequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Sequence} of {DeviceId} skipped: {Problem}")]
    private partial void LogSkipped(string deviceId, long sequence, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream {DeviceId} restarted at batch {Sequence}: discontinuity in {Reason}")]
    private partial void LogRestarted(string deviceId, long sequence, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {Sequence} of {DeviceId} failed in the pipeline; the stream restarts with the next batch")]
    private partial void LogFailed(string deviceId, long sequence, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream {DeviceId} has more than {Limit} unpublished messages; the oldest is dropped")]
    private partial void LogOutboxFull(string deviceId, int limit);
}
