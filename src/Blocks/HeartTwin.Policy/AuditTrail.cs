using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Policy;

/// <summary>
/// Appends decisions to the hash-chained trail. One lock serialises appends so that sequences have no gaps and each
/// entry links to the one before; an entry counts as written once its <see cref="AuditRecorded"/> publication completed
/// (in process: once Storage committed it).
/// </summary>
internal sealed partial class AuditTrail(IMessageBus bus, TimeProvider time, ILogger<AuditTrail> logger) : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private bool initialised;
    private long lastSequence;
    private string lastHash = AuditChain.GenesisHash;

    /// <summary>Appends one entry and returns it once it is recorded.</summary>
    /// <exception cref="MessageDeliveryException">Storage could not record it; the caller must not act on the decision.</exception>
    public async Task<AuditRecorded> AppendAsync(
        string category, string actor, string patientId, string subject, bool allowed, string rule, string reason, string policyVersion,
        CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!initialised)
            {
                await ContinueFromStorageAsync(cancellationToken).ConfigureAwait(false);
            }

            // Whole milliseconds, so that the time survives any store's round trip and the hash still verifies.
            var now = time.GetUtcNow();
            now = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
            var entry = new AuditRecorded(lastSequence + 1, now, category, actor, patientId, subject, allowed, rule, reason, policyVersion, lastHash, "");
            entry = entry with { Hash = AuditChain.ComputeHash(entry) };
            try
            {
                await bus.PublishAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Storage may or may not have kept it: ask it again where the chain ends before the next append.
                initialised = false;
                throw;
            }

            lastSequence = entry.Sequence;
            lastHash = entry.Hash;
            return entry;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => gate.Dispose();

    private async Task ContinueFromStorageAsync(CancellationToken cancellationToken)
    {
        try
        {
            var last = await bus.RequestAsync<AuditQuery, AuditResult>(new AuditQuery(FromSequence: long.MaxValue, Limit: 0), cancellationToken)
                .ConfigureAwait(false);
            lastSequence = last.LastSequence;
            lastHash = last.LastSequence == 0 || AuditChain.IsGenesis(last.LastHash) ? AuditChain.GenesisHash : last.LastHash;
            LogContinued(logger, lastSequence);
        }
        catch (NoHandlerException)
        {
            // No Storage in this host (tests, a policy-only service): the trail starts fresh and lives in the messages.
            lastSequence = 0;
            lastHash = AuditChain.GenesisHash;
            LogNoStorage(logger);
        }

        initialised = true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit trail continues after sequence {Sequence}")]
    private static partial void LogContinued(ILogger logger, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No handler answers AuditQuery: the audit trail starts at sequence 1 and is not persisted by this host")]
    private static partial void LogNoStorage(ILogger logger);
}
