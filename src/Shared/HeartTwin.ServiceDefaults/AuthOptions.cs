using System.ComponentModel.DataAnnotations;

namespace HeartTwin.ServiceDefaults;

/// <summary>Options of the <c>Auth</c> section.</summary>
public sealed class AuthOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Auth";

    /// <summary>The admin bearer token. When empty, one is generated at start and printed (development only).</summary>
    [MaxLength(512)]
    public string? AdminToken { get; set; }

    /// <summary>HMAC-SHA256 key (at least 32 characters) that signs issued tokens. When empty, a random per-process key is used.</summary>
    [MaxLength(1024)]
    public string? SigningKey { get; set; }

    /// <summary>Issuer written into and required of tokens.</summary>
    [Required]
    public string Issuer { get; set; } = "hearttwin";

    /// <summary>Longest lifetime a token may be issued for, in hours.</summary>
    [Range(1, 24 * 366)]
    public int MaxTokenLifetimeHours { get; set; } = 24 * 30;
}
