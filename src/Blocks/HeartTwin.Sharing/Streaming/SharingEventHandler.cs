using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Sharing.Webhooks;

namespace HeartTwin.Sharing.Streaming;

/// <summary>
/// Turns the bus events Sharing passes on into named events (<see cref="ShareEvents"/>), and hands each to the live
/// stream clients and to the webhook outbox. Both are quick (a buffer write, a SQLite insert), so the bus is not held up.
/// </summary>
internal sealed class SharingEventHandler(LiveHub hub, WebhookOutbox outbox) :
    IMessageHandler<SamplesReceived>,
    IMessageHandler<AnalysisCompleted>,
    IMessageHandler<ActionDecided>,
    IMessageHandler<CommandStatusChanged>,
    IMessageHandler<WindowAcquired>,
    IMessageHandler<VitalsReceived>
{
    public Task HandleAsync(SamplesReceived message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Share(message.PatientId, ShareEvents.Samples, message.MessageKey, message.StartTime, () => new SamplesEvent(
            message.DeviceId, message.PatientId, message.Sequence, message.StartTime, message.SampleRateHz, message.Leads, message.Samples));
        return Task.CompletedTask;
    }

    public Task HandleAsync(AnalysisCompleted message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        // AnalysisCompleted has no stable key; its state's time and sequence identify it across redeliveries.
        string key = FormattableString.Invariant($"{message.State.UpdatedAt.UtcTicks}:{message.State.LastSequence}");
        Share(message.PatientId, ShareEvents.State, key, message.State.UpdatedAt, () => message.State);
        if (message.Beats.Count > 0)
        {
            Share(message.PatientId, ShareEvents.Beats, key, message.Beats[0].Time, () => new BeatsEvent(message.PatientId, message.DeviceId, message.Beats));
        }

        return Task.CompletedTask;
    }

    public Task HandleAsync(ActionDecided message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Share(message.PatientId, ShareEvents.Action, message.MessageKey, message.Proposal.OccurredAt, () => message);
        return Task.CompletedTask;
    }

    public Task HandleAsync(CommandStatusChanged message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        string key = FormattableString.Invariant($"{message.CommandId}:{message.Status}:{message.Attempts}");
        Share(message.PatientId, ShareEvents.Command, key, message.UpdatedAt, () => message);
        return Task.CompletedTask;
    }

    public Task HandleAsync(WindowAcquired message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Share(message.PatientId, ShareEvents.Window, message.MessageKey, message.Start, () => message);
        return Task.CompletedTask;
    }

    public Task HandleAsync(VitalsReceived message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var first = message.Observations.Count > 0 ? message.Observations[0].Time : message.ReceivedAt;
        Share(message.PatientId, ShareEvents.Vitals, message.MessageKey, first, () => new VitalsEvent(message.DeviceId, message.PatientId, message.Sequence, message.Observations));
        return Task.CompletedTask;
    }

    private void Share<T>(string patientId, string eventName, string key, DateTimeOffset occurredAt, Func<T> data)
    {
        bool live = hub.HasClients(patientId);
        bool webhook = outbox.HasSubscribers(patientId, ShareEvents.Category[eventName]);
        if (!live && !webhook)
        {
            return;
        }

        // Serialised once, shared by every client and every subscription.
        string json = SharingJson.Serialize(data());
        if (live)
        {
            hub.Publish(patientId, eventName, json);
        }

        if (webhook)
        {
            outbox.Enqueue(patientId, eventName, key, occurredAt, json);
        }
    }
}

/// <summary>The <c>samples</c> event: one ECG batch with its leads (gain, baseline) and integer samples as received.</summary>
internal sealed record SamplesEvent(string DeviceId, string PatientId, long Sequence, DateTimeOffset StartTime, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][] Samples);

/// <summary>The <c>beats</c> event: beats classified in one analysis.</summary>
internal sealed record BeatsEvent(string PatientId, string? DeviceId, IReadOnlyList<ClassifiedBeat> Beats);

/// <summary>The <c>vitals</c> event: one batch of vital-sign observations.</summary>
internal sealed record VitalsEvent(string DeviceId, string PatientId, long Sequence, IReadOnlyList<VitalObservation> Observations);
