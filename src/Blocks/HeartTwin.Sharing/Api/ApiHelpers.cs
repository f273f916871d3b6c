using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Http;

namespace HeartTwin.Sharing.Api;

/// <summary>Checks and answers the endpoints share: read access, the policy's decision, time ranges, ProblemDetails.</summary>
internal static class ApiHelpers
{
    public static IResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: extensions);

    public static IResult Forbidden(string patientId) =>
        Problem(StatusCodes.Status403Forbidden, "Forbidden", $"The token does not grant access to patient '{patientId}'.");

    public static IResult Denied(ShareDecision decision) =>
        Problem(StatusCodes.Status403Forbidden, "Denied by policy", decision.Reason, new Dictionary<string, object?> { ["rule"] = decision.Rule });

    /// <summary>Null when the caller may read <paramref name="category"/> of the patient for <paramref name="purpose"/>; else the 403 to answer.</summary>
    public static async Task<IResult?> CheckReadAsync(HeartTwinPrincipal principal, SharePolicy policy, string patientId, string category, string purpose, CancellationToken ct)
    {
        if (!principal.CanRead(patientId))
        {
            return Forbidden(patientId);
        }

        var decision = await policy.DecideAsync(principal.Subject, principal.Scopes, patientId, category, purpose, ct).ConfigureAwait(false);
        return decision.Allowed ? null : Denied(decision);
    }

    /// <summary>Parses an ISO-8601 instant; a value without an offset is taken as UTC.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    /// <summary>
    /// Reads <c>from</c>/<c>to</c>: <c>to</c> defaults to now, <c>from</c> to <paramref name="defaultSpan"/> before <c>to</c>
    /// (both are required when <paramref name="defaultSpan"/> is null). Returns the 400 to answer, or null.
    /// </summary>
    public static IResult? ParseRange(string? from, string? to, TimeSpan? defaultSpan, TimeSpan maxSpan, DateTimeOffset now, out DateTimeOffset start, out DateTimeOffset end)
    {
        start = end = default;
        if (defaultSpan is null && (string.IsNullOrWhiteSpace(from) || string.IsNullOrWhiteSpace(to)))
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing range", "Both 'from' and 'to' are required, as ISO-8601 UTC instants (e.g. 2024-05-01T10:00:00Z).");
        }

        if (string.IsNullOrWhiteSpace(to))
        {
            end = now;
        }
        else if (!TryParseTime(to, out end))
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad 'to'", $"'{to}' is not an ISO-8601 instant (e.g. 2024-05-01T10:00:00Z).");
        }

        if (string.IsNullOrWhiteSpace(from))
        {
            start = end - defaultSpan!.Value;
        }
        else if (!TryParseTime(from, out start))
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad 'from'", $"'{from}' is not an ISO-8601 instant (e.g. 2024-05-01T10:00:00Z).");
        }

        if (end <= start)
        {
            return Problem(StatusCodes.Status400BadRequest, "Empty range", "'to' must be later than 'from'.");
        }

        if (end - start > maxSpan)
        {
            return Problem(StatusCodes.Status400BadRequest, "Range too long",
                string.Create(CultureInfo.InvariantCulture, $"The range spans {(end - start).TotalSeconds:0.###} s; at most {maxSpan.TotalSeconds:0} s may be asked for at once."));
        }

        return null;
    }

    public static IResult? ParseLimit(int? limit, int max, out int value)
    {
        value = limit ?? max;
        return value is < 1 || value > max
            ? Problem(StatusCodes.Status400BadRequest, "Bad 'limit'", string.Create(CultureInfo.InvariantCulture, $"'limit' must be between 1 and {max}."))
            : null;
    }
}
