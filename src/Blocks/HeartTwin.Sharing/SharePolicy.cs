using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Sharing;

/// <summary>Asks the Policy block (over the bus) whether data may leave. Fails closed: no answer is a denial.</summary>
internal sealed partial class SharePolicy(IMessageBus bus, ILogger<SharePolicy> logger)
{
    public async Task<ShareDecision> DecideAsync(string recipient, IReadOnlyCollection<string> scopes, string patientId, string category, string purpose, CancellationToken ct)
    {
        try
        {
            return await bus.RequestAsync<ShareRequest, ShareDecision>(new ShareRequest(recipient, [.. scopes], patientId, category, purpose), ct).ConfigureAwait(false);
        }
        catch (NoHandlerException ex)
        {
            // A twin without a Policy shares nothing: consent cannot be assumed.
            LogNoPolicy(logger, ex);
            return new ShareDecision(false, "no-policy", "No policy answers share requests, so nothing is shared.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "No handler answers ShareRequest; every share is denied.")]
    private static partial void LogNoPolicy(ILogger logger, Exception ex);
}
