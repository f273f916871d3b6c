using System.Globalization;
using HeartTwin.Contracts;

namespace HeartTwin.Policy;

/// <summary>A decision: allowed or not, the rule that decided, and why.</summary>
internal sealed record Verdict(bool Allowed, string Rule, string Reason);

/// <summary>
/// Applies a descriptor. Pure but for the rate-limit counters: the same descriptor, proposal and counters give the same
/// verdict. First matching rule wins; nothing matching means deny.
/// </summary>
internal sealed class PolicyEngine
{
    public const string DefaultDeny = "default-deny";
    private readonly Lock counting = new();
    private readonly Dictionary<(string Rule, string Device), Queue<DateTimeOffset>> sent = [];

    /// <summary>Decides on a share.</summary>
    public static Verdict DecideShare(PolicyDocument policy, ShareRequest request)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(request);
        if (!PolicyVocabulary.Categories.Contains(request.Category ?? ""))
        {
            return new(false, "unknown-category", $"'{request.Category}' is not a data category the policy knows.");
        }

        if (!PolicyVocabulary.Purposes.Contains(request.Purpose ?? ""))
        {
            return new(false, "unknown-purpose", $"'{request.Purpose}' is not a purpose the policy knows.");
        }

        var scopes = request.Scopes ?? [];
        foreach (var withdrawal in policy.Sharing.ConsentWithdrawals)
        {
            if (withdrawal.Patient == request.PatientId
                && PolicyVocabulary.Covers(withdrawal.Categories, request.Category!)
                && PolicyVocabulary.Covers(withdrawal.Recipients, request.Recipient)
                && PolicyVocabulary.Covers(withdrawal.Purposes, request.Purpose!))
            {
                string since = withdrawal.Since is null ? "" : $" on {withdrawal.Since}";
                return new(false, $"consent-withdrawal:{withdrawal.Patient}",
                    $"Patient {request.PatientId} withdrew consent{since} to share {request.Category} ({request.Purpose}) with {request.Recipient}.");
            }
        }

        foreach (var rule in policy.Sharing.Rules)
        {
            if (PolicyVocabulary.Covers(rule.Recipients, request.Recipient)
                && (rule.Scopes.Count == 0 || rule.Scopes.Any(scopes.Contains))
                && PolicyVocabulary.Covers(rule.Patients, request.PatientId)
                && PolicyVocabulary.Covers(rule.Categories, request.Category!)
                && PolicyVocabulary.Covers(rule.Purposes, request.Purpose!))
            {
                bool allow = rule.Effect == PolicyVocabulary.Allow;
                return new(allow, rule.Id,
                    $"{(allow ? "Allowed" : "Denied")} by rule {rule.Id}: {request.Category} of patient {request.PatientId} to {request.Recipient} ({request.Purpose}).");
            }
        }

        return new(false, DefaultDeny,
            $"No sharing rule lets {request.Recipient} (scopes: {(scopes.Count == 0 ? "none" : string.Join(' ', scopes))}) receive {request.Category} of patient {request.PatientId} ({request.Purpose}).");
    }

    /// <summary>Decides on a proposal: alert rules when it carries no command, actuation rules when it does.</summary>
    /// <param name="policy">The descriptor in force.</param>
    /// <param name="proposal">The proposal.</param>
    /// <param name="now">Decision time (the rate-limit window ends here).</param>
    public Verdict DecideAction(PolicyDocument policy, ActionProposed proposal, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(proposal);
        return proposal.Command is null ? DecideAlert(policy, proposal) : DecideCommand(policy, proposal, proposal.Command, now);
    }

    /// <summary>Counts an allowed command against its rule's rate limit (after its audit entry is written).</summary>
    public void RecordSent(PolicyDocument policy, string ruleId, string deviceId, DateTimeOffset now)
    {
        var rule = policy.Actuation.Rules.FirstOrDefault(r => r.Id == ruleId);
        if (rule?.RateLimit is null)
        {
            return;
        }

        lock (counting)
        {
            if (!sent.TryGetValue((ruleId, deviceId), out var times))
            {
                sent[(ruleId, deviceId)] = times = new Queue<DateTimeOffset>();
            }

            times.Enqueue(now);
        }
    }

    private static Verdict DecideAlert(PolicyDocument policy, ActionProposed proposal)
    {
        foreach (var rule in policy.Alerts.Rules)
        {
            if (!PolicyVocabulary.Covers(rule.EventTypes, proposal.EventType) || !PolicyVocabulary.Covers(rule.Patients, proposal.PatientId))
            {
                continue;
            }

            if (rule.Effect == PolicyVocabulary.Deny)
            {
                return new(false, rule.Id, $"Alerts of type {proposal.EventType} are not raised (rule {rule.Id}).");
            }

            return PolicyVocabulary.SeverityRank(proposal.Severity) < PolicyVocabulary.SeverityRank(rule.MinSeverity)
                ? new(false, rule.Id, $"Severity '{proposal.Severity}' is below the threshold '{rule.MinSeverity}' of rule {rule.Id} for {proposal.EventType}.")
                : new(true, rule.Id, $"Alert {proposal.EventType} ({proposal.Severity}) raised by rule {rule.Id}.");
        }

        return new(false, DefaultDeny, $"No alert rule covers {proposal.EventType} for patient {proposal.PatientId}.");
    }

    private Verdict DecideCommand(PolicyDocument policy, ActionProposed proposal, DeviceCommand command, DateTimeOffset now)
    {
        if (!PolicyVocabulary.Commands.Contains(command.Name ?? ""))
        {
            return new(false, "unknown-command", $"'{command.Name}' is not a device command.");
        }

        if (string.IsNullOrWhiteSpace(proposal.DeviceId))
        {
            return new(false, "no-device", $"Command {command.Name} names no target device.");
        }

        var parameters = command.Parameters ?? new Dictionary<string, string>();
        var rule = policy.Actuation.Rules.FirstOrDefault(r =>
            r.Command == command.Name
            && PolicyVocabulary.Covers(r.Patients, proposal.PatientId)
            && PolicyVocabulary.Covers(r.EventTypes, proposal.EventType)
            && ProposerMatches(r.Proposers, proposal.ProposedBy)
            && r.Match.All(m => parameters.TryGetValue(m.Key, out var v) && v == m.Value));
        if (rule is null)
        {
            return new(false, DefaultDeny, $"No actuation rule lets {proposal.ProposedBy} send {command.Name}{Describe(parameters)} for patient {proposal.PatientId}.");
        }

        if (rule.Effect == PolicyVocabulary.Deny)
        {
            return new(false, rule.Id, $"Command {command.Name} is refused by rule {rule.Id}.");
        }

        if (CheckParameters(rule, parameters) is { } problem)
        {
            return new(false, rule.Id, $"Command {command.Name} refused by rule {rule.Id}: {problem}.");
        }

        if (rule.RateLimit is { } limit && CountRecent(rule.Id, proposal.DeviceId, now, limit.Period) >= limit.Max)
        {
            return new(false, rule.Id, string.Create(CultureInfo.InvariantCulture,
                $"Command {command.Name} refused by rule {rule.Id}: rate limit of {limit.Max} per {limit.Per} reached for device {proposal.DeviceId}."));
        }

        return new(true, rule.Id, $"Command {command.Name}{Describe(parameters)} to device {proposal.DeviceId} allowed by rule {rule.Id}.");
    }

    private static bool ProposerMatches(List<string> proposers, string proposedBy) =>
        proposers.Contains(PolicyVocabulary.Any)
        || proposers.Contains(proposedBy)
        || (proposedBy != PolicyVocabulary.AgentProposer && proposers.Contains(PolicyVocabulary.UserProposer));

    /// <summary>The first parameter problem, or null when every parameter is within its bounds.</summary>
    private static string? CheckParameters(ActuationRule rule, IReadOnlyDictionary<string, string> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            if (!rule.Parameters.ContainsKey(name) && !rule.Match.ContainsKey(name))
            {
                return $"parameter '{name}' is not allowed";
            }
        }

        foreach (var (name, bounds) in rule.Parameters)
        {
            if (!parameters.TryGetValue(name, out var value))
            {
                if (bounds.Required)
                {
                    return $"parameter '{name}' is required";
                }

                continue;
            }

            value ??= "";
            if (bounds.MaxLength is { } maxLength && value.Length > maxLength)
            {
                return string.Create(CultureInfo.InvariantCulture, $"parameter '{name}' is longer than {maxLength} characters");
            }

            bool numeric = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && double.IsFinite(number);
            if (bounds.Values is { } values && !values.Any(v => v == value
                || (numeric && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double allowed) && allowed == number)))
            {
                return $"parameter '{name}' = '{value}' is not one of {string.Join(", ", values)}";
            }

            if ((bounds.Min is not null || bounds.Max is not null) && !numeric)
            {
                return $"parameter '{name}' = '{value}' is not a number";
            }

            if (bounds.Min is { } min && number < min)
            {
                return string.Create(CultureInfo.InvariantCulture, $"parameter '{name}' = {value} is below the minimum {min}");
            }

            if (bounds.Max is { } max && number > max)
            {
                return string.Create(CultureInfo.InvariantCulture, $"parameter '{name}' = {value} is above the maximum {max}");
            }
        }

        return null;
    }

    private int CountRecent(string ruleId, string deviceId, DateTimeOffset now, TimeSpan period)
    {
        lock (counting)
        {
            if (!sent.TryGetValue((ruleId, deviceId), out var times))
            {
                return 0;
            }

            while (times.Count > 0 && times.Peek() <= now - period)
            {
                times.Dequeue();
            }

            return times.Count;
        }
    }

    private static string Describe(IReadOnlyDictionary<string, string> parameters) =>
        parameters.Count == 0 ? "" : " (" + string.Join(", ", parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")) + ")";
}
