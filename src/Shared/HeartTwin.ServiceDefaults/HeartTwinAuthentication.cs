using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.ServiceDefaults;

/// <summary>The bearer scheme for people and other twins: the admin token or a token signed by <see cref="TokenService"/>.</summary>
public sealed class HeartTwinAuthentication : AuthenticationHandler<AuthenticationSchemeOptions>
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>Authorization policy: any valid token.</summary>
    public const string AuthenticatedPolicy = "authenticated";

    /// <summary>Authorization policy: the admin scope.</summary>
    public const string AdminPolicy = "admin";

    private readonly TokenService tokens;

    /// <summary>Creates the handler.</summary>
    public HeartTwinAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenService tokens)
        : base(options, logger, encoder) => this.tokens = tokens;

    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        string? token = null;
        if (header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal) && Request.Query.TryGetValue("access_token", out var q))
        {
            // EventSource in browsers cannot set headers; SSE alone may carry the token in the query.
            token = q.ToString();
        }

        // Device tokens (htd_…) belong to the Connector, which checks them itself on the device routes.
        if (token is null || token.StartsWith("htd_", StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await tokens.ValidateAsync(token).ConfigureAwait(false);
        return principal is null
            ? AuthenticateResult.Fail("The bearer token is invalid or expired.")
            : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
