using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Sharing.Webhooks;

/// <summary>
/// Delivers the outbox: asks the Policy for each delivery just before sending (a denied share is marked denied and never
/// sent), POSTs the envelope with its signature, and retries failures with exponential back-off until the attempts run out.
/// </summary>
internal sealed partial class WebhookDispatcher(
    SharingStore store, WebhookOutbox outbox, SharePolicy policy, IHttpClientFactory http, IOptions<SharingOptions> options,
    TimeProvider time, ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "HeartTwin.Sharing.Webhooks";
    public const string SignatureHeader = "X-HeartTwin-Signature";
    public const string DeliveryHeader = "X-HeartTwin-Delivery";
    public const string EventHeader = "X-HeartTwin-Event";
    private const int BatchSize = 100;
    private readonly SharingOptions options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<PendingDelivery> due;
            try
            {
                due = store.DueDeliveries(time.GetUtcNow(), BatchSize);
                // One subscription's deliveries go in order; different subscriptions do not wait for each other.
                await Parallel.ForEachAsync(due.GroupBy(d => d.SubscriptionId), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stoppingToken },
                    async (group, ct) =>
                    {
                        foreach (var d in group)
                        {
                            await DeliverAsync(d, ct).ConfigureAwait(false);
                        }
                    }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The worker must outlive any single failure (a locked database, a bad row); it logs and tries again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogWorkerError(logger, ex);
                due = [];
            }

            if (due.Count < BatchSize)
            {
                await WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(TimeSpan.FromMilliseconds(options.WebhookPollIntervalMs), time, timeout.Token);
        var woken = outbox.Wake.WaitToReadAsync(timeout.Token).AsTask();
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await timeout.CancelAsync().ConfigureAwait(false);
        outbox.Wake.TryRead(out _);
    }

    internal async Task DeliverAsync(PendingDelivery d, CancellationToken ct)
    {
        var subscription = store.FindSubscription(d.SubscriptionId);
        if (subscription is null)
        {
            store.RecordAttempt(d.Id, DeliveryStatus.Failed, d.Attempts, time.GetUtcNow(), "The subscription was deleted.", time.GetUtcNow());
            return;
        }

        var decision = await policy.DecideAsync(subscription.RecipientId, subscription.CreatorScopes, d.PatientId, d.Category, SharePurposes.Webhook, ct).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            LogDenied(logger, d.Id, subscription.RecipientId, d.PatientId, d.Category, decision.Reason);
            store.RecordAttempt(d.Id, DeliveryStatus.Denied, d.Attempts, time.GetUtcNow(), $"{decision.Rule}: {decision.Reason}", time.GetUtcNow());
            return;
        }

        int attempts = d.Attempts + 1;
        string? error;
        TimeSpan? retryAfter = null;
        bool permanent = false;
        try
        {
            byte[] body = Encoding.UTF8.GetBytes(d.Payload);
            using var request = new HttpRequestMessage(HttpMethod.Post, subscription.CallbackUrl) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add(DeliveryHeader, d.Id);
            request.Headers.Add(EventHeader, d.Event);
            if (subscription.Secret is { Length: > 0 } secret)
            {
                request.Headers.Add(SignatureHeader, WebhookOutbox.Sign(secret, body));
            }

            if (subscription.CallbackToken is { Length: > 0 } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.WebhookTimeoutSeconds));
            using var client = http.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                store.RecordAttempt(d.Id, DeliveryStatus.Delivered, attempts, time.GetUtcNow(), null, time.GetUtcNow());
                return;
            }

            int status = (int)response.StatusCode;
            error = $"HTTP {status}";
            // A 4xx other than timeout or throttling will not get better by sending the same body again.
            permanent = status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            retryAfter = response.Headers.RetryAfter?.Delta;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            error = ex.Message;
        }

        var now = time.GetUtcNow();
        if (permanent || attempts >= options.WebhookMaxAttempts)
        {
            LogFailed(logger, d.Id, subscription.CallbackUrl, attempts, error);
            store.RecordAttempt(d.Id, DeliveryStatus.Failed, attempts, now, error, now);
            return;
        }

        double backoffMs = Math.Min(options.WebhookRetryMaxDelayMs, options.WebhookRetryBaseDelayMs * Math.Pow(2, attempts - 1));
        var delay = TimeSpan.FromMilliseconds(backoffMs);
        if (retryAfter is { } ra && ra > delay)
        {
            delay = ra;
        }

        LogRetry(logger, d.Id, subscription.CallbackUrl, attempts, error, delay);
        store.RecordAttempt(d.Id, DeliveryStatus.Pending, attempts, now + delay, error, now);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The webhook worker failed; it goes on.")]
    private static partial void LogWorkerError(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {Recipient} withheld: the policy denies {Category} of {PatientId}: {Reason}")]
    private static partial void LogDenied(ILogger logger, string deliveryId, string recipient, string patientId, string category, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to {Url} failed for good after {Attempts} attempt(s): {Error}")]
    private static partial void LogFailed(ILogger logger, string deliveryId, Uri url, int attempts, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {Url} attempt {Attempts} failed ({Error}); next in {Delay}")]
    private static partial void LogRetry(ILogger logger, string deliveryId, Uri url, int attempts, string? error, TimeSpan delay);
}
