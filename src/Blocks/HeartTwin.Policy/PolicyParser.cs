using System.Collections.Frozen;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using YamlDotNet.Serialization.NodeDeserializers;

namespace HeartTwin.Policy;

/// <summary>Reads and validates a descriptor; every problem is reported with its file, line and column.</summary>
internal static class PolicyParser
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithNodeDeserializer(inner => new LocatingNodeDeserializer(inner), s => s.InsteadOf<ObjectNodeDeserializer>())
        .Build();

    /// <summary>Parses <paramref name="yaml"/> read from <paramref name="file"/>.</summary>
    /// <exception cref="PolicyLoadException">The YAML is malformed, has unknown keys, or breaks a rule of the format.</exception>
    public static PolicyDocument Parse(string yaml, string file)
    {
        PolicyDocument? document;
        try
        {
            document = Deserializer.Deserialize<PolicyDocument?>(yaml);
        }
        catch (YamlException ex)
        {
            int line = (int)ex.Start.Line;
            string where = string.Create(CultureInfo.InvariantCulture, $"{file}:{line}:{ex.Start.Column}");
            throw new PolicyLoadException(file, line, [$"{where}: {Innermost(ex)}"], ex);
        }

        if (document is null)
        {
            throw new PolicyLoadException(file, 0, [$"{file}: the file is empty; a descriptor needs at least 'version: 1'."]);
        }

        var problems = new Validator(file).Validate(document);
        if (problems.Count > 0)
        {
            throw new PolicyLoadException(file, problems[0].Line, [.. problems.Select(p => p.Text)]);
        }

        return document;
    }

    /// <summary>Parses a period such as "30s", "10m", "1h" or "1d"; false when it is not one.</summary>
    public static bool TryParsePeriod(string? text, out TimeSpan period)
    {
        period = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length < 2)
        {
            return false;
        }

        text = text.Trim();
        if (!int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0)
        {
            return false;
        }

        period = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.Zero,
        };
        return period > TimeSpan.Zero;
    }

    /// <summary>YamlDotNet wraps the useful message ("Property 'x' not found on type …") in outer exceptions.</summary>
    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        string message = ex.Message;

        // YamlException messages start with "(Line: 3, Col: 5, Idx: 40) - (Line: …): "; the place is given already.
        int cut = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && cut >= 0 ? message[(cut + 3)..] : message;
    }

    /// <summary>Records where each located node starts, so that validation can name the line.</summary>
    private sealed class LocatingNodeDeserializer(INodeDeserializer inner) : INodeDeserializer
    {
        public bool Deserialize(IParser reader, Type expectedType, Func<IParser, Type, object?> nestedObjectDeserializer, out object? value, ObjectDeserializer rootDeserializer)
        {
            var start = reader.Current?.Start;
            if (!inner.Deserialize(reader, expectedType, nestedObjectDeserializer, out value, rootDeserializer))
            {
                return false;
            }

            if (value is LocatedNode node && start is { } mark)
            {
                node.Line = (int)mark.Line;
                node.Column = (int)mark.Column;
            }

            return true;
        }
    }

    private sealed class Validator(string file)
    {
        private readonly List<(int Line, string Text)> problems = [];
        private readonly HashSet<string> ids = new(StringComparer.Ordinal);

        public List<(int Line, string Text)> Validate(PolicyDocument doc)
        {
            if (doc.Version != 1)
            {
                Add(doc, string.Create(CultureInfo.InvariantCulture, $"'version' must be 1 (got {doc.Version})."));
            }

            doc.Sharing ??= new();
            doc.Alerts ??= new();
            doc.Actuation ??= new();
            doc.Sharing.Rules ??= [];
            doc.Sharing.ConsentWithdrawals ??= [];
            doc.Alerts.Rules ??= [];
            doc.Actuation.Rules ??= [];

            foreach (var rule in doc.Sharing.Rules)
            {
                RuleId(rule, rule.Id, "sharing");
                List(rule, "recipients", rule.Recipients = rule.Recipients ?? ["*"], null);
                rule.Scopes ??= [];
                List(rule, "patients", rule.Patients = rule.Patients ?? ["*"], null);
                List(rule, "categories", rule.Categories = rule.Categories ?? ["*"], PolicyVocabulary.Categories);
                List(rule, "purposes", rule.Purposes = rule.Purposes ?? ["*"], PolicyVocabulary.Purposes);
                Effect(rule, rule.Id, rule.Effect);
            }

            foreach (var withdrawal in doc.Sharing.ConsentWithdrawals)
            {
                if (string.IsNullOrWhiteSpace(withdrawal.Patient) || withdrawal.Patient == PolicyVocabulary.Any)
                {
                    Add(withdrawal, "a consent withdrawal needs the 'patient' it belongs to (one id, not \"*\").");
                }

                List(withdrawal, "categories", withdrawal.Categories = withdrawal.Categories ?? ["*"], PolicyVocabulary.Categories);
                List(withdrawal, "recipients", withdrawal.Recipients = withdrawal.Recipients ?? ["*"], null);
                List(withdrawal, "purposes", withdrawal.Purposes = withdrawal.Purposes ?? ["*"], PolicyVocabulary.Purposes);
            }

            foreach (var rule in doc.Alerts.Rules)
            {
                RuleId(rule, rule.Id, "alert");
                List(rule, "eventTypes", rule.EventTypes = rule.EventTypes ?? ["*"], PolicyVocabulary.EventTypeNames);
                List(rule, "patients", rule.Patients = rule.Patients ?? ["*"], null);
                if (PolicyVocabulary.SeverityRank(rule.MinSeverity) < 0)
                {
                    Add(rule, $"rule '{rule.Id}': minSeverity '{rule.MinSeverity}' is not one of {string.Join(", ", PolicyVocabulary.Severities)}.");
                }

                Effect(rule, rule.Id, rule.Effect);
            }

            foreach (var rule in doc.Actuation.Rules)
            {
                ValidateActuation(rule);
            }

            return problems;
        }

        private void ValidateActuation(ActuationRule rule)
        {
            RuleId(rule, rule.Id, "actuation");
            if (!PolicyVocabulary.Commands.Contains(rule.Command ?? ""))
            {
                Add(rule, $"rule '{rule.Id}': command '{rule.Command}' is not a device command ({string.Join(", ", PolicyVocabulary.Commands.Order(StringComparer.Ordinal))}).");
            }

            List(rule, "proposers", rule.Proposers = rule.Proposers ?? ["agent"], null);
            List(rule, "patients", rule.Patients = rule.Patients ?? ["*"], null);
            List(rule, "eventTypes", rule.EventTypes = rule.EventTypes ?? ["*"], PolicyVocabulary.EventTypeNames);
            rule.Match ??= [];
            rule.Parameters ??= [];
            foreach (var (name, bounds) in rule.Parameters)
            {
                if (bounds is null)
                {
                    Add(rule, $"rule '{rule.Id}': parameter '{name}' needs bounds (use {{}} for a free parameter).");
                    continue;
                }

                if (bounds.Min is { } min && bounds.Max is { } max && min > max)
                {
                    Add(bounds, string.Create(CultureInfo.InvariantCulture, $"rule '{rule.Id}': parameter '{name}' has min {min} above max {max}."));
                }

                if (bounds.Values is { Count: 0 })
                {
                    Add(bounds, $"rule '{rule.Id}': parameter '{name}' lists no allowed values; leave 'values' out to allow any.");
                }

                if (bounds.MaxLength is <= 0)
                {
                    Add(bounds, $"rule '{rule.Id}': parameter '{name}' has a maxLength below 1.");
                }
            }

            if (rule.RateLimit is { } limit)
            {
                if (limit.Max < 1)
                {
                    Add(limit, $"rule '{rule.Id}': rateLimit.max must be at least 1.");
                }

                if (TryParsePeriod(limit.Per, out var period))
                {
                    limit.Period = period;
                }
                else
                {
                    Add(limit, $"rule '{rule.Id}': rateLimit.per '{limit.Per}' is not a period such as 30s, 10m, 1h or 1d.");
                }
            }

            Effect(rule, rule.Id, rule.Effect);
        }

        private void RuleId(LocatedNode node, string? id, string section)
        {
            if (string.IsNullOrWhiteSpace(id))
            {
                Add(node, $"a {section} rule needs an 'id'.");
            }
            else if (!ids.Add(id))
            {
                Add(node, $"rule id '{id}' is used twice; ids must be unique in the descriptor (the audit trail names them).");
            }
        }

        private void Effect(LocatedNode node, string id, string? effect)
        {
            if (effect is not (PolicyVocabulary.Allow or PolicyVocabulary.Deny))
            {
                Add(node, $"rule '{id}': effect must be 'allow' or 'deny' (got '{effect}').");
            }
        }

        private void List(LocatedNode node, string name, List<string> values, FrozenSet<string>? known)
        {
            if (values.Count == 0)
            {
                Add(node, $"'{name}' is empty, so the entry could never match; use [\"*\"] for all.");
            }

            foreach (var v in values)
            {
                if (string.IsNullOrWhiteSpace(v))
                {
                    Add(node, $"'{name}' holds an empty value.");
                }
                else if (known is not null && v != PolicyVocabulary.Any && !known.Contains(v))
                {
                    Add(node, $"'{name}' holds '{v}', which is not one of {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
                }
            }
        }

        private void Add(LocatedNode node, string reason) =>
            problems.Add((node.Line, string.Create(CultureInfo.InvariantCulture, $"{file}:{node.Line}:{node.Column}: {reason}")));
    }
}
