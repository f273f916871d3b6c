using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Agent;

/// <summary>
/// The Agent's subscriptions. They only buffer and record: the scheduler does the analysis. Each is idempotent:
/// a redelivered <see cref="BeatsAcquired"/> holds beats at or before the stream's last accepted beat, which are dropped.
/// </summary>
internal sealed partial class AgentHandlers(TwinRegistry registry, TimeProvider time, ILogger<AgentHandlers> logger)
    : IMessageHandler<BeatsAcquired>, IMessageHandler<DeviceConnectionChanged>, IMessageHandler<SequenceGapDetected>, IMessageHandler<AnalysisRequested>
{
    public async Task HandleAsync(BeatsAcquired message, MessageContext context, CancellationToken cancellationToken)
    {
        await registry.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        int n = message.Beats.Count;
        if (n > 0 && (message.Windows.Length % n != 0 || message.RrFeatures.Length % n != 0 || message.Windows.Length == 0))
        {
            // A malformed message would fail every retry; it is dropped with a record of why.
            LogMalformed(message.PatientId, message.DeviceId, message.Sequence, n, message.Windows.Length, message.RrFeatures.Length);
            return;
        }

        int windowLength = n > 0 ? message.Windows.Length / n : 0;
        int rrLength = n > 0 ? message.RrFeatures.Length / n : 0;
        var twin = registry.Get(message.PatientId);
        var now = time.GetUtcNow();
        lock (twin.Gate)
        {
            var stream = twin.Device(message.DeviceId);
            stream.LastDataAt = now;
            stream.SilentProposed = false;
            if (!stream.Connected)
            {
                stream.Connected = true;
                twin.StatusChanged = true;
            }

            int accepted = 0;
            for (int i = 0; i < n; i++)
            {
                var beat = message.Beats[i];
                if (stream.AcceptedUpTo is { } upTo && beat.Time <= upTo)
                {
                    continue;
                }

                stream.AcceptedUpTo = beat.Time;
                twin.Pending.Add(new PendingBeat(beat, message.DeviceId, message.Sequence, message.SourceReceivedAt, message.FeatureSpec,
                    message.Windows, i * windowLength, windowLength, message.RrFeatures, i * rrLength, rrLength));
                accepted++;
            }

            if (accepted > 0)
            {
                twin.CurrentDeviceId = message.DeviceId;
            }
        }
    }

    public async Task HandleAsync(DeviceConnectionChanged message, MessageContext context, CancellationToken cancellationToken)
    {
        await registry.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        var twin = registry.Get(message.PatientId);
        lock (twin.Gate)
        {
            var stream = twin.Device(message.DeviceId);
            stream.Connected = message.Connected;
            twin.CurrentDeviceId ??= message.DeviceId;
            twin.StatusChanged = true;
        }
    }

    public async Task HandleAsync(SequenceGapDetected message, MessageContext context, CancellationToken cancellationToken)
    {
        await registry.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        var twin = registry.Get(message.PatientId);
        lock (twin.Gate)
        {
            twin.Device(message.DeviceId);
            twin.Outbox.Add(new ActionProposed(
                ProposalIds.For(message.PatientId, EventTypes.SequenceGap, message.DeviceId, message.ExpectedSequence.ToString(CultureInfo.InvariantCulture)),
                message.PatientId, message.DeviceId, EventTypes.SequenceGap, "info",
                string.Create(CultureInfo.InvariantCulture,
                    $"{message.MissingBatches} data batch(es) from device {message.DeviceId} never arrived (sequence {message.ExpectedSequence} to {message.ReceivedSequence - 1}): the ECG has a gap there."),
                message.DetectedAt, message.DetectedAt, time.GetUtcNow(), "agent", null,
                new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["expectedSequence"] = message.ExpectedSequence.ToString(CultureInfo.InvariantCulture),
                    ["receivedSequence"] = message.ReceivedSequence.ToString(CultureInfo.InvariantCulture),
                    ["missingBatches"] = message.MissingBatches.ToString(CultureInfo.InvariantCulture),
                }));
        }

        registry.Wake();
    }

    public async Task HandleAsync(AnalysisRequested message, MessageContext context, CancellationToken cancellationToken)
    {
        await registry.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        var twin = registry.Get(message.PatientId);
        lock (twin.Gate)
        {
            twin.AnalysisRequested = true;
        }

        registry.Wake();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped BeatsAcquired {PatientId}/{DeviceId}:{Sequence}: {Beats} beats do not divide {WindowFloats} window and {RrFloats} RR floats")]
    private partial void LogMalformed(string patientId, string deviceId, long sequence, int beats, int windowFloats, int rrFloats);
}
