using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using static HeartTwin.Sharing.Api.ApiHelpers;

namespace HeartTwin.Sharing.Api;

/// <summary>Webhook subscriptions, the inbox other twins deliver to, and token issuing.</summary>
internal static class ShareEndpoints
{
    private const int MaxIdLength = 200;

    public static void Map(RouteGroupBuilder api)
    {
        var subs = api.MapGroup("/subscriptions").WithTags("Subscriptions");
        subs.MapPost("", CreateSubscription).WithSummary("Subscribe another twin (a callback URL) to categories of patients.");
        subs.MapGet("", ListSubscriptions).WithSummary("The caller's subscriptions (every one for admin).");
        subs.MapGet("/{id}", GetSubscription).WithSummary("A subscription with its delivery counts.");
        subs.MapDelete("/{id}", DeleteSubscription).WithSummary("Delete a subscription; its undelivered deliveries are dropped.");

        var inbox = api.MapGroup("/inbox").WithTags("Inbox");
        inbox.MapPost("", ReceiveAsync).WithSummary("Another twin delivers a share here.");
        inbox.MapGet("", ListInbox).WithSummary("Shares other twins delivered, about the patients the caller may read.");

        api.MapPost("/tokens", IssueToken).RequireAuthorization(HeartTwinAuthentication.AdminPolicy).WithTags("Tokens")
            .WithSummary("Issue a bearer token (admin).");
    }

    private static IResult CreateSubscription(CreateSubscriptionRequest? body, HttpContext http, SharingStore store, TimeProvider time)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (body is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing body", "Send {recipientId, callbackUrl, patients, categories, secret?, callbackToken?}.");
        }

        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(body.RecipientId) || body.RecipientId.Length > MaxIdLength)
        {
            errors.Add("'recipientId' is required (at most 200 characters).");
        }

        if (!Uri.TryCreate(body.CallbackUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("'callbackUrl' must be an absolute http or https URL.");
        }

        var patients = body.Patients?.Where(p => !string.IsNullOrWhiteSpace(p)).Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (patients.Count == 0 || patients.Any(p => p.Length > MaxIdLength))
        {
            errors.Add("'patients' lists patient ids, or is [\"*\"] for every patient.");
        }

        var categories = body.Categories?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (categories.Count == 0 || categories.Any(c => !ShareCategories.IsKnown(c)))
        {
            errors.Add($"'categories' lists one or more of: {string.Join(", ", ShareCategories.All)}.");
        }

        if (body.Secret is { Length: > 1024 } || body.CallbackToken is { Length: > 8192 })
        {
            errors.Add("'secret' is at most 1024 characters and 'callbackToken' at most 8192.");
        }

        if (errors.Count > 0)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid subscription", string.Join(" ", errors));
        }

        bool all = patients.Contains(WebhookSubscription.AllPatients);
        bool mayWrite = all
            ? principal.IsAdmin || principal.Scopes.Contains(Scopes.SystemWrite)
            : patients.All(principal.CanWrite);
        if (!mayWrite)
        {
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", all
                ? "Subscribing to every patient needs the admin or system write scope."
                : "Subscribing needs write access to every listed patient.");
        }

        var subscription = new WebhookSubscription(
            Guid.NewGuid().ToString("N"), body.RecipientId!, url!, all ? [WebhookSubscription.AllPatients] : patients, categories,
            string.IsNullOrEmpty(body.Secret) ? null : body.Secret, string.IsNullOrEmpty(body.CallbackToken) ? null : body.CallbackToken,
            principal.Subject, [.. principal.Scopes], time.GetUtcNow());
        store.AddSubscription(subscription);
        return TypedResults.Created($"/api/subscriptions/{subscription.Id}", View(subscription, store));
    }

    private static Microsoft.AspNetCore.Http.HttpResults.Ok<List<SubscriptionView>> ListSubscriptions(HttpContext http, SharingStore store)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        return TypedResults.Ok(store.Subscriptions.Where(s => principal.IsAdmin || s.CreatedBy == principal.Subject).Select(s => View(s, store)).ToList());
    }

    private static IResult GetSubscription(string id, HttpContext http, SharingStore store)
    {
        var s = Owned(id, http, store);
        return s is null ? SubscriptionNotFound(id) : TypedResults.Ok(View(s, store));
    }

    private static IResult DeleteSubscription(string id, HttpContext http, SharingStore store)
    {
        var s = Owned(id, http, store);
        if (s is null)
        {
            return SubscriptionNotFound(id);
        }

        store.DeleteSubscription(id);
        return TypedResults.NoContent();
    }

    private static WebhookSubscription? Owned(string id, HttpContext http, SharingStore store)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        var s = store.FindSubscription(id);
        // Someone else's subscription is "not found", so that ids cannot be probed.
        return s is not null && (principal.IsAdmin || s.CreatedBy == principal.Subject) ? s : null;
    }

    private static IResult SubscriptionNotFound(string id) =>
        Problem(StatusCodes.Status404NotFound, "Not found", $"No subscription '{id}' of yours exists.");

    private static SubscriptionView View(WebhookSubscription s, SharingStore store) =>
        new(s.Id, s.RecipientId, s.CallbackUrl.ToString(), s.Patients, s.Categories, s.Secret is not null, s.CreatedBy, s.CreatedAt, store.DeliveryCounts(s.Id));

    private static async Task<IResult> ReceiveAsync(HttpContext http, SharingStore store, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct)
    {
        var o = options.Value;
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.IsAdmin && !principal.Scopes.Contains(Scopes.SystemWrite) && !principal.Scopes.Contains(Scopes.PatientWrite))
        {
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", "Delivering to the inbox needs a write scope.");
        }

        if (http.Request.ContentLength > o.MaxInboxBodyBytes)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", FormattableString.Invariant($"The inbox takes at most {o.MaxInboxBodyBytes} bytes."));
        }

        // Read at most one byte beyond the limit: a chunked body without a length cannot exhaust memory.
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > o.MaxInboxBodyBytes)
            {
                return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", FormattableString.Invariant($"The inbox takes at most {o.MaxInboxBodyBytes} bytes."));
            }
        }

        byte[] body = buffer.ToArray();
        bool verified = false;
        if (o.InboxSecret is { Length: > 0 } secret)
        {
            string? signature = http.Request.Headers[WebhookDispatcher.SignatureHeader];
            string expected = WebhookOutbox.Sign(secret, body);
            if (signature is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected)))
            {
                return Problem(StatusCodes.Status401Unauthorized, "Bad signature", $"'{WebhookDispatcher.SignatureHeader}' is missing or does not match the body.");
            }

            verified = true;
        }

        ShareEnvelope? envelope;
        JsonElement raw;
        try
        {
            using var doc = JsonDocument.Parse(body);
            raw = doc.RootElement.Clone();
            envelope = raw.ValueKind == JsonValueKind.Object ? raw.Deserialize<ShareEnvelope>(SharingJson.Options) : null;
        }
        catch (JsonException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, "Malformed JSON", ex.Message);
        }

        if (envelope is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Malformed envelope", "The body is a JSON object {id, patientId, category, event, occurredAt, data}.");
        }

        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(envelope.Id) || envelope.Id.Length > MaxIdLength)
        {
            errors.Add("'id' is required (at most 200 characters).");
        }

        if (string.IsNullOrWhiteSpace(envelope.PatientId) || envelope.PatientId.Length > MaxIdLength)
        {
            errors.Add("'patientId' is required (at most 200 characters).");
        }

        if (!ShareCategories.IsKnown(envelope.Category))
        {
            errors.Add($"'category' is one of: {string.Join(", ", ShareCategories.All)}.");
        }

        if (envelope.Event is null || !ShareEvents.Category.TryGetValue(envelope.Event, out var eventCategory) || eventCategory != envelope.Category)
        {
            errors.Add($"'event' is one of: {string.Join(", ", ShareEvents.Category.Keys)}, and matches 'category'.");
        }

        if (envelope.Data.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
        {
            errors.Add("'data' is a JSON object or array.");
        }

        if (errors.Count > 0)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid envelope", string.Join(" ", errors));
        }

        if (!principal.IsAdmin && !principal.Scopes.Contains(Scopes.SystemWrite) && !principal.CanWrite(envelope.PatientId!))
        {
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", $"The token does not grant write access to patient '{envelope.PatientId}'.");
        }

        var entry = new InboxEntry(envelope.Id!, principal.Subject, envelope.PatientId!, envelope.Category!, envelope.Event!, envelope.OccurredAt, time.GetUtcNow(), verified, raw);
        bool added = store.AddInbox(entry);
        var receipt = new InboxReceipt(entry.Id, !added);
        return added ? TypedResults.Accepted($"/api/inbox?patientId={Uri.EscapeDataString(entry.PatientId)}", receipt) : TypedResults.Ok(receipt);
    }

    private static IResult ListInbox(string? patientId, string? since, int? limit, HttpContext http, SharingStore store)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        DateTimeOffset? after = null;
        if (since is not null)
        {
            if (!TryParseTime(since, out var t))
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad 'since'", $"'{since}' is not an ISO-8601 instant.");
            }

            after = t;
        }

        if (ParseLimit(limit, 10_000, out int max) is { } bad)
        {
            return bad;
        }

        if (patientId is not null && !principal.CanRead(patientId))
        {
            return Forbidden(patientId);
        }

        IReadOnlyCollection<string>? readable = principal.CanReadAll ? null : [.. principal.Patients.Where(principal.CanRead)];
        return TypedResults.Ok(readable is { Count: 0 } ? [] : store.Inbox(readable, patientId, after, max));
    }

    private static IResult IssueToken(IssueTokenRequest? body, TokenService tokens)
    {
        if (body is null || string.IsNullOrWhiteSpace(body.Subject) || body.Scopes is not { Count: > 0 })
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid token request", "Send {subject, scopes: [...], patients?: [...], lifetimeHours?}.");
        }

        var patients = body.Patients ?? [];
        if (patients.Count == 0 && body.Scopes.Any(s => s.StartsWith("patient/", StringComparison.Ordinal)))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid token request", "Patient-level scopes need the patients they apply to in 'patients'.");
        }

        if (body.LifetimeHours is <= 0)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid token request", "'lifetimeHours' must be positive.");
        }

        try
        {
            var (token, expiresAt) = tokens.Issue(body.Subject, body.Scopes, patients, TimeSpan.FromHours(body.LifetimeHours ?? 24));
            return TypedResults.Created((string?)null, new IssuedToken(token, expiresAt));
        }
        catch (ArgumentException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid token request", ex.Message);
        }
    }
}

/// <summary>Body of <c>POST /api/tokens</c>.</summary>
/// <param name="Subject">Who the token is for.</param>
/// <param name="Scopes">Scopes (admin, system/*.rs, system/*.cud, patient/*.rs, patient/*.cud).</param>
/// <param name="Patients">Patients for the patient-level scopes.</param>
/// <param name="LifetimeHours">Lifetime in hours (default 24, capped by Auth:MaxTokenLifetimeHours).</param>
public sealed record IssueTokenRequest(string? Subject, IReadOnlyList<string>? Scopes, IReadOnlyList<string>? Patients, double? LifetimeHours);

/// <summary>Answer of <c>POST /api/tokens</c>.</summary>
/// <param name="Token">The bearer token.</param>
/// <param name="ExpiresAt">UTC expiry.</param>
public sealed record IssuedToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>Answer of <c>POST /api/inbox</c>.</summary>
/// <param name="Id">The delivery id.</param>
/// <param name="Duplicate">Whether it had been received before (then nothing was stored again).</param>
public sealed record InboxReceipt(string Id, bool Duplicate);
