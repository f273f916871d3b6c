using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Policy;

/// <summary>
/// Decides on proposals: verdict, audit entry (awaited), then <see cref="ActionDecided"/>. A redelivered proposal gets
/// the decision already made published again, with no second audit entry and no second count against a rate limit.
/// </summary>
internal sealed partial class ActionProposedHandler(
    PolicyStore store, PolicyEngine engine, AuditTrail audit, DecisionCache decided, IMessageBus bus, TimeProvider time,
    ILogger<ActionProposedHandler> logger) : IMessageHandler<ActionProposed>
{
    public async Task HandleAsync(ActionProposed message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (decided.TryGet(message.ActionId, out var earlier))
        {
            await bus.PublishAsync(earlier, cancellationToken).ConfigureAwait(false);
            return;
        }

        var snapshot = store.Current;
        var now = time.GetUtcNow();
        var verdict = engine.DecideAction(snapshot.Document, message, now);
        bool isCommand = message.Command is not null;
        await audit.AppendAsync(
            isCommand ? "command" : "action",
            message.ProposedBy,
            string.IsNullOrEmpty(message.PatientId) ? "*" : message.PatientId,
            isCommand ? $"{message.Command!.Name}:{message.ActionId}" : $"{message.EventType}:{message.ActionId}",
            verdict.Allowed, verdict.Rule, verdict.Reason, snapshot.Version, cancellationToken).ConfigureAwait(false);

        if (verdict.Allowed && isCommand)
        {
            engine.RecordSent(snapshot.Document, verdict.Rule, message.DeviceId!, now);
        }

        var decision = new ActionDecided(message, verdict.Allowed, verdict.Rule, verdict.Reason, now, snapshot.Version);
        decided.Add(decision);
        LogDecided(logger, message.ActionId, message.EventType, message.Command?.Name, verdict.Allowed, verdict.Rule);
        await bus.PublishAsync(decision, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Action {ActionId} ({EventType}, command {Command}): allowed={Allowed} by {Rule}")]
    private static partial void LogDecided(ILogger logger, string actionId, string eventType, string? command, bool allowed, string rule);
}

/// <summary>Answers share requests; each answer is audited before it is given, so an unaudited share never leaves.</summary>
internal sealed class ShareRequestHandler(PolicyStore store, AuditTrail audit) : IRequestHandler<ShareRequest, ShareDecision>
{
    public async Task<ShareDecision> HandleAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = store.Current;
        var verdict = PolicyEngine.DecideShare(snapshot.Document, request);
        await audit.AppendAsync(
            "share",
            string.IsNullOrEmpty(request.Recipient) ? "anonymous" : request.Recipient,
            string.IsNullOrEmpty(request.PatientId) ? "*" : request.PatientId,
            $"{request.Category}:{request.Purpose}",
            verdict.Allowed, verdict.Rule, verdict.Reason, snapshot.Version, cancellationToken).ConfigureAwait(false);
        return new ShareDecision(verdict.Allowed, verdict.Rule, verdict.Reason);
    }
}

/// <summary>The latest decisions by action id (bounded), so that a redelivered proposal is not decided twice.</summary>
internal sealed class DecisionCache
{
    private const int Capacity = 50_000;
    private readonly Lock gate = new();
    private readonly Dictionary<string, ActionDecided> byAction = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();

    public bool TryGet(string actionId, out ActionDecided decision)
    {
        lock (gate)
        {
            return byAction.TryGetValue(actionId ?? "", out decision!);
        }
    }

    public void Add(ActionDecided decision)
    {
        lock (gate)
        {
            if (!byAction.TryAdd(decision.Proposal.ActionId ?? "", decision))
            {
                return;
            }

            order.Enqueue(decision.Proposal.ActionId ?? "");
            while (order.Count > Capacity)
            {
                byAction.Remove(order.Dequeue());
            }
        }
    }
}
