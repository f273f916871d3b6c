using HeartTwin.Contracts;
using HeartTwin.Messaging;

namespace HeartTwin.Storage.Handlers;

/// <summary>
/// Stores every message the twin keeps. Each handler returns only once its data is committed, so whoever publishes
/// (the Connector, before it acknowledges a device) knows the data is durable. Redeliveries are stored once.
/// </summary>
internal sealed class StorageMessageHandlers(ITwinStore store, StorageStats stats, TimeProvider time) :
    IMessageHandler<DeviceRegistered>,
    IMessageHandler<SamplesReceived>,
    IMessageHandler<BeatsAcquired>,
    IMessageHandler<AnalysisCompleted>,
    IMessageHandler<WindowAcquired>,
    IMessageHandler<VitalsReceived>,
    IMessageHandler<SequenceGapDetected>,
    IMessageHandler<ActionProposed>,
    IMessageHandler<ActionDecided>,
    IMessageHandler<CommandStatusChanged>,
    IMessageHandler<AuditRecorded>
{
    public Task HandleAsync(DeviceRegistered message, MessageContext context, CancellationToken cancellationToken) =>
        store.RegisterDeviceAsync(message, cancellationToken);

    public async Task HandleAsync(SamplesReceived message, MessageContext context, CancellationToken cancellationToken)
    {
        if (await store.StoreSamplesAsync(message, cancellationToken).ConfigureAwait(false))
        {
            stats.RecordLatency(time.GetUtcNow() - message.ReceivedAt);
        }
    }

    public Task HandleAsync(BeatsAcquired message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreBeatsAsync(message, cancellationToken);

    public Task HandleAsync(AnalysisCompleted message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreAnalysisAsync(message, cancellationToken);

    public Task HandleAsync(WindowAcquired message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreWindowAsync(message, cancellationToken);

    public Task HandleAsync(VitalsReceived message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreVitalsAsync(message, cancellationToken);

    public Task HandleAsync(SequenceGapDetected message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreGapAsync(message, cancellationToken);

    public Task HandleAsync(ActionProposed message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreProposalAsync(message, cancellationToken);

    public Task HandleAsync(ActionDecided message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreDecisionAsync(message, cancellationToken);

    public Task HandleAsync(CommandStatusChanged message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreCommandStatusAsync(message, cancellationToken);

    public Task HandleAsync(AuditRecorded message, MessageContext context, CancellationToken cancellationToken) =>
        store.StoreAuditAsync(message, cancellationToken);
}
