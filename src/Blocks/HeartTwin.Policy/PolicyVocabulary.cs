using System.Collections.Frozen;
using HeartTwin.Contracts;

namespace HeartTwin.Policy;

/// <summary>The words a descriptor may use, so that a typo is a load error rather than a rule that never matches.</summary>
internal static class PolicyVocabulary
{
    public const string Any = "*";
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string AgentProposer = "agent";
    public const string UserProposer = "user";

    public static readonly FrozenSet<string> Categories = FrozenSet.Create(StringComparer.Ordinal,
        "ecg", "beats", "events", "actions", "state", "vitals", "audit");

    public static readonly FrozenSet<string> Purposes = FrozenSet.Create(StringComparer.Ordinal, "api", "stream", "webhook", "fhir");

    public static readonly FrozenSet<string> Commands = FrozenSet.Create(StringComparer.Ordinal,
        DeviceCommands.RaiseAlarm, DeviceCommands.SetSampleRate, DeviceCommands.Capture12Lead, DeviceCommands.AdjustPacing);

    public static readonly FrozenSet<string> EventTypeNames = FrozenSet.Create(StringComparer.Ordinal,
        EventTypes.AfOnset, EventTypes.AfOffset, EventTypes.VentricularRun, EventTypes.HeartRateHigh, EventTypes.HeartRateLow,
        EventTypes.SignalLost, EventTypes.DeviceSilent, EventTypes.SequenceGap, EventTypes.ManualRequest);

    /// <summary>Severities in rising order; the index is the rank.</summary>
    public static readonly IReadOnlyList<string> Severities = ["info", "warning", "critical"];

    public static int SeverityRank(string? severity)
    {
        for (int i = 0; i < Severities.Count; i++)
        {
            if (string.Equals(Severities[i], severity, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether a rule's list (which may hold "*") covers the value.</summary>
    public static bool Covers(List<string> list, string value) => list.Contains(Any) || list.Contains(value);
}
