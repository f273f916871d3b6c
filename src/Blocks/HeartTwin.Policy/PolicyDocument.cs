using System.Text.Json.Serialization;

namespace HeartTwin.Policy;

// The descriptor as written in YAML (see policy/README.md). YamlDotNet fills these; PolicyParser validates them, and
// the engine reads them unchanged afterwards (a loaded document is never mutated, a reload replaces it whole).

/// <summary>A node that remembers where it was written, so that validation errors name the line.</summary>
internal abstract class LocatedNode
{
    [JsonIgnore]
    public int Line { get; set; }

    [JsonIgnore]
    public int Column { get; set; }
}

internal sealed class PolicyDocument : LocatedNode
{
    /// <summary>Format version of the descriptor; 1 is the only one so far.</summary>
    public int Version { get; set; }

    public string? Description { get; set; }

    public SharingSection Sharing { get; set; } = new();

    public AlertSection Alerts { get; set; } = new();

    public ActuationSection Actuation { get; set; } = new();
}

internal sealed class SharingSection : LocatedNode
{
    public List<SharingRule> Rules { get; set; } = [];

    public List<ConsentWithdrawal> ConsentWithdrawals { get; set; } = [];
}

internal sealed class SharingRule : LocatedNode
{
    public string Id { get; set; } = "";

    public string? Description { get; set; }

    /// <summary>Token subjects or subscription recipient ids; "*" for anyone.</summary>
    public List<string> Recipients { get; set; } = ["*"];

    /// <summary>The recipient must hold at least one of these scopes; empty means no scope is required.</summary>
    public List<string> Scopes { get; set; } = [];

    public List<string> Patients { get; set; } = ["*"];

    public List<string> Categories { get; set; } = ["*"];

    public List<string> Purposes { get; set; } = ["*"];

    public string Effect { get; set; } = "";
}

internal sealed class ConsentWithdrawal : LocatedNode
{
    public string Patient { get; set; } = "";

    public List<string> Categories { get; set; } = ["*"];

    public List<string> Recipients { get; set; } = ["*"];

    public List<string> Purposes { get; set; } = ["*"];

    /// <summary>When the patient withdrew consent (informational, shown in reasons).</summary>
    public string? Since { get; set; }

    public string? Note { get; set; }
}

internal sealed class AlertSection : LocatedNode
{
    public List<AlertRule> Rules { get; set; } = [];
}

internal sealed class AlertRule : LocatedNode
{
    public string Id { get; set; } = "";

    public string? Description { get; set; }

    public List<string> EventTypes { get; set; } = ["*"];

    public List<string> Patients { get; set; } = ["*"];

    /// <summary>Proposals below this severity ("info" &lt; "warning" &lt; "critical") are not raised.</summary>
    public string MinSeverity { get; set; } = "info";

    public string Effect { get; set; } = "allow";
}

internal sealed class ActuationSection : LocatedNode
{
    public List<ActuationRule> Rules { get; set; } = [];
}

internal sealed class ActuationRule : LocatedNode
{
    public string Id { get; set; } = "";

    public string? Description { get; set; }

    public string Command { get; set; } = "";

    /// <summary>"agent", "user" (any person, who needed a write scope to ask), "*", or exact token subjects.</summary>
    public List<string> Proposers { get; set; } = ["agent"];

    public List<string> Patients { get; set; } = ["*"];

    public List<string> EventTypes { get; set; } = ["*"];

    /// <summary>The rule applies only when the command's parameters have exactly these values.</summary>
    public Dictionary<string, string> Match { get; set; } = [];

    /// <summary>Every parameter the command may carry, with its bounds; any other parameter is refused.</summary>
    public Dictionary<string, ParameterBounds> Parameters { get; set; } = [];

    public RateLimit? RateLimit { get; set; }

    public string Effect { get; set; } = "allow";
}

internal sealed class ParameterBounds : LocatedNode
{
    public bool Required { get; set; }

    public double? Min { get; set; }

    public double? Max { get; set; }

    /// <summary>The only values allowed (compared as strings, or as numbers when both parse as numbers).</summary>
    public List<string>? Values { get; set; }

    public int? MaxLength { get; set; }
}

internal sealed class RateLimit : LocatedNode
{
    /// <summary>Allowed commands per period per device.</summary>
    public int Max { get; set; }

    /// <summary>The period: a number and a unit, "30s", "10m", "1h" or "1d".</summary>
    public string Per { get; set; } = "";

    [JsonIgnore]
    public TimeSpan Period { get; set; }
}
