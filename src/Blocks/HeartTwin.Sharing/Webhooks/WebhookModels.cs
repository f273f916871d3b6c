using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeartTwin.Sharing.Webhooks;

/// <summary>A stored webhook subscription: deliver these categories of these patients to a callback of another twin.</summary>
internal sealed record WebhookSubscription(
    string Id,
    string RecipientId,
    Uri CallbackUrl,
    IReadOnlyList<string> Patients,
    IReadOnlyList<string> Categories,
    string? Secret,
    string? CallbackToken,
    string CreatedBy,
    IReadOnlyList<string> CreatorScopes,
    DateTimeOffset CreatedAt)
{
    /// <summary>"*" in the patient list means every patient.</summary>
    public const string AllPatients = "*";

    public bool Matches(string patientId, string category) =>
        Categories.Contains(category, StringComparer.Ordinal)
        && (Patients.Contains(AllPatients, StringComparer.Ordinal) || Patients.Contains(patientId, StringComparer.Ordinal));
}

/// <summary>The body of <c>POST /api/subscriptions</c>.</summary>
/// <param name="RecipientId">Who receives (the policy's recipient id for the other twin).</param>
/// <param name="CallbackUrl">Absolute http(s) URL, typically the other twin's <c>/api/inbox</c>.</param>
/// <param name="Patients">Patient ids, or ["*"] for every patient (needs system write scope).</param>
/// <param name="Categories">Data categories (<see cref="ShareCategories.All"/>).</param>
/// <param name="Secret">Optional HMAC-SHA256 key; deliveries then carry <c>X-HeartTwin-Signature: sha256=HEX</c>.</param>
/// <param name="CallbackToken">Optional bearer token presented to the callback (the other twin's token for its inbox).</param>
public sealed record CreateSubscriptionRequest(
    string? RecipientId, string? CallbackUrl, IReadOnlyList<string>? Patients, IReadOnlyList<string>? Categories, string? Secret, string? CallbackToken);

/// <summary>A subscription as the API shows it (never its secret or token).</summary>
/// <param name="Id">Subscription id.</param>
/// <param name="RecipientId">Recipient.</param>
/// <param name="CallbackUrl">Callback URL.</param>
/// <param name="Patients">Patients, or ["*"].</param>
/// <param name="Categories">Categories.</param>
/// <param name="HasSecret">Whether deliveries are signed.</param>
/// <param name="CreatedBy">Token subject that created it.</param>
/// <param name="CreatedAt">UTC creation time.</param>
/// <param name="Deliveries">Delivery counts by status ("pending", "delivered", "denied", "failed").</param>
public sealed record SubscriptionView(
    string Id, string RecipientId, string CallbackUrl, IReadOnlyList<string> Patients, IReadOnlyList<string> Categories,
    bool HasSecret, string CreatedBy, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, long> Deliveries);

/// <summary>What a webhook POSTs to its callback, and what <c>POST /api/inbox</c> takes.</summary>
/// <param name="Id">Delivery id (stable across retries: the receiver's idempotency key).</param>
/// <param name="SubscriptionId">The subscription that produced it.</param>
/// <param name="RecipientId">The recipient it was meant for.</param>
/// <param name="PatientId">Whose data.</param>
/// <param name="Category">Data category.</param>
/// <param name="Event">Event name (<see cref="ShareEvents"/>).</param>
/// <param name="OccurredAt">UTC time of the event.</param>
/// <param name="Data">The event's data, as the live stream sends it.</param>
public sealed record ShareEnvelope(
    string? Id, string? SubscriptionId, string? RecipientId, string? PatientId, string? Category, string? Event,
    DateTimeOffset? OccurredAt, JsonElement Data);

/// <summary>A share another twin delivered to this one's inbox.</summary>
/// <param name="Id">The delivery id.</param>
/// <param name="Sender">Token subject of the twin that delivered it.</param>
/// <param name="PatientId">Whose data.</param>
/// <param name="Category">Data category.</param>
/// <param name="Event">Event name.</param>
/// <param name="OccurredAt">UTC time of the event, as sent.</param>
/// <param name="ReceivedAt">UTC time this twin stored it.</param>
/// <param name="SignatureVerified">Whether an HMAC signature was checked against <see cref="SharingOptions.InboxSecret"/>.</param>
/// <param name="Envelope">The envelope as received.</param>
public sealed record InboxEntry(
    string Id, string Sender, string PatientId, string Category, string Event, DateTimeOffset? OccurredAt, DateTimeOffset ReceivedAt,
    bool SignatureVerified, [property: JsonPropertyName("envelope")] JsonElement Envelope);

/// <summary>A delivery waiting in the outbox.</summary>
internal sealed record PendingDelivery(string Id, string SubscriptionId, string PatientId, string Category, string Event, string Payload, int Attempts);

/// <summary>Delivery statuses.</summary>
internal static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Denied = "denied";
    public const string Failed = "failed";
}
