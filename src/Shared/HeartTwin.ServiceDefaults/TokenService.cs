using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HeartTwin.ServiceDefaults;

/// <summary>Holds the admin token and the signing key, issues tokens and validates them.</summary>
public sealed partial class TokenService
{
    private readonly AuthOptions options;
    private readonly SymmetricSecurityKey key;
    private readonly byte[] adminTokenBytes;
    private readonly JsonWebTokenHandler handler = new() { SetDefaultTimesOnTokenCreation = true };
    private readonly TokenValidationParameters validation;

    /// <summary>Creates the service; generates the missing secrets (and says so) when none are configured.</summary>
    public TokenService(IOptions<AuthOptions> options, ILogger<TokenService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        if (string.IsNullOrWhiteSpace(this.options.AdminToken))
        {
            AdminToken = "ht-admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            AdminTokenGenerated = true;
            LogGeneratedAdmin(logger);
        }
        else
        {
            AdminToken = this.options.AdminToken;
        }

        byte[] keyBytes;
        if (string.IsNullOrEmpty(this.options.SigningKey))
        {
            keyBytes = RandomNumberGenerator.GetBytes(32);
            LogGeneratedKey(logger);
        }
        else
        {
            keyBytes = Encoding.UTF8.GetBytes(this.options.SigningKey);
            if (keyBytes.Length < 32)
            {
                throw new OptionsValidationException(AuthOptions.Section, typeof(AuthOptions), ["Auth:SigningKey must be at least 32 bytes."]);
            }
        }

        key = new SymmetricSecurityKey(keyBytes);
        adminTokenBytes = Encoding.UTF8.GetBytes(AdminToken);
        validation = new TokenValidationParameters
        {
            ValidIssuer = this.options.Issuer,
            ValidateAudience = false,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = "sub",
        };
    }

    /// <summary>The admin token in force (configured or generated).</summary>
    public string AdminToken { get; }

    /// <summary>Whether the admin token was generated because none was configured (the host prints it).</summary>
    public bool AdminTokenGenerated { get; }

    /// <summary>Issues a signed token.</summary>
    /// <param name="subject">Who it is for.</param>
    /// <param name="scopes">Scopes from <see cref="Scopes.Known"/>.</param>
    /// <param name="patients">Patients for patient-level scopes.</param>
    /// <param name="lifetime">How long it is valid (capped by <see cref="AuthOptions.MaxTokenLifetimeHours"/>).</param>
    /// <exception cref="ArgumentException">An unknown scope, or an empty subject.</exception>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string subject, IReadOnlyCollection<string> scopes, IReadOnlyCollection<string> patients, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subject);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(patients);
        var unknown = scopes.Where(s => !Scopes.Known.Contains(s)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown scope(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", Scopes.Known)}.", nameof(scopes));
        }

        var max = TimeSpan.FromHours(options.MaxTokenLifetimeHours);
        if (lifetime <= TimeSpan.Zero || lifetime > max)
        {
            lifetime = max;
        }

        var expires = DateTimeOffset.UtcNow.Add(lifetime);
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["sub"] = subject,
            ["scope"] = string.Join(' ', scopes),
            ["patient"] = string.Join(',', patients),
        };
        string token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Claims = claims,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    /// <summary>Validates a bearer token: the admin token, or a token this deployment signed. Null when invalid.</summary>
    public async Task<ClaimsPrincipal?> ValidateAsync(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), adminTokenBytes))
        {
            var identity = new ClaimsIdentity([new Claim("sub", "admin"), new Claim("scope", $"{Scopes.Admin} {Scopes.SystemRead} {Scopes.SystemWrite}")], HeartTwinAuthentication.SchemeName, "sub", null);
            return new ClaimsPrincipal(identity);
        }

        var result = await handler.ValidateTokenAsync(token, validation).ConfigureAwait(false);
        return result.IsValid ? new ClaimsPrincipal(new ClaimsIdentity(result.ClaimsIdentity.Claims, HeartTwinAuthentication.SchemeName, "sub", null)) : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No Auth:AdminToken is configured: a random admin token was generated for this run (development default; set Auth__AdminToken in production).")]
    private static partial void LogGeneratedAdmin(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No Auth:SigningKey is configured: issued tokens are signed with a random key and stop working when this process restarts (development default).")]
    private static partial void LogGeneratedKey(ILogger logger);
}
