using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Policy;

/// <summary>Options of the <c>Policy</c> configuration section.</summary>
public sealed class PolicyOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Policy";

    /// <summary>The YAML descriptor, absolute or relative to the content root. Default "policy/default.yaml".</summary>
    [Required(AllowEmptyStrings = false)]
    public string Path { get; set; } = "policy/default.yaml";

    /// <summary>
    /// Seconds between checks of the descriptor's content hash, the fallback for file-change notifications that do not
    /// arrive (network and container file systems). Default 5.
    /// </summary>
    [Range(1, 3600)]
    public int ReloadCheckSeconds { get; set; } = 5;
}
