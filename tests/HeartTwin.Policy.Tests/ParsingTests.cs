namespace HeartTwin.Policy.Tests;

public sealed class ParsingTests
{
    private const string Minimal = "version: 1\n";

    [Fact]
    public void Shipped_default_descriptor_loads_with_rules_in_every_section()
    {
        string file = Path.Combine(RepoPaths.Root, "policy", "default.yaml");
        var doc = PolicyParser.Parse(File.ReadAllText(file), file);

        doc.Sharing.Rules.ShouldNotBeEmpty();
        doc.Alerts.Rules.ShouldNotBeEmpty();
        doc.Actuation.Rules.Select(r => r.Command).Distinct().Count().ShouldBe(4);
        doc.Actuation.Rules.Single(r => r.Id == "alarm").RateLimit!.Period.ShouldBe(TimeSpan.FromHours(1));
    }

    [Fact]
    public void Minimal_descriptor_denies_everything_by_default()
    {
        var doc = PolicyParser.Parse(Minimal, "min.yaml");

        doc.Sharing.Rules.ShouldBeEmpty();
        PolicyEngine.DecideShare(doc, new("r", ["admin"], "p1", "ecg", "api")).Rule.ShouldBe(PolicyEngine.DefaultDeny);
    }

    [Fact]
    public void Malformed_yaml_names_the_file_and_line()
    {
        const string yaml = "version: 1\nsharing:\n  rules:\n    - id: a\n      effect: [allow\n";

        var ex = Should.Throw<PolicyLoadException>(() => PolicyParser.Parse(yaml, "bad.yaml"));

        ex.File.ShouldBe("bad.yaml");
        ex.Line.ShouldBeGreaterThanOrEqualTo(5);
        ex.Message.ShouldContain("bad.yaml:");
    }

    [Fact]
    public void Unknown_key_is_reported_at_its_line()
    {
        const string yaml = "version: 1\nsharing:\n  rules:\n    - id: a\n      efect: allow\n";

        var ex = Should.Throw<PolicyLoadException>(() => PolicyParser.Parse(yaml, "typo.yaml"));

        ex.Line.ShouldBe(5);
        ex.Message.ShouldContain("typo.yaml:5:");
        ex.Message.ShouldContain("efect");
    }

    [Theory]
    [InlineData("actuation:\n  rules:\n    - id: x\n      command: self-destruct\n", 4, "self-destruct")]
    [InlineData("sharing:\n  rules:\n    - id: x\n      categories: [ecg, genome]\n      effect: allow\n", 4, "genome")]
    [InlineData("sharing:\n  rules:\n    - id: x\n      effect: maybe\n", 4, "effect must be 'allow' or 'deny'")]
    [InlineData("sharing:\n  rules:\n    - id: x\n      effect: allow\n    - id: x\n      effect: deny\n", 6, "used twice")]
    [InlineData("actuation:\n  rules:\n    - id: x\n      command: raise-alarm\n      rateLimit: { max: 3, per: 1 week }\n", 6, "not a period")]
    [InlineData("actuation:\n  rules:\n    - id: x\n      command: raise-alarm\n      parameters:\n        level: { min: 5, max: 1 }\n", 7, "min 5 above max 1")]
    [InlineData("alerts:\n  rules:\n    - id: x\n      eventTypes: [af-onset]\n      minSeverity: severe\n", 4, "minSeverity 'severe'")]
    [InlineData("sharing:\n  consentWithdrawals:\n    - categories: [ecg]\n", 4, "needs the 'patient'")]
    [InlineData("alerts:\n  rules:\n    - id: x\n      eventTypes: [af-onst]\n", 4, "af-onst")]
    public void Invalid_rule_is_reported_with_its_line_and_reason(string body, int line, string reason)
    {
        var ex = Should.Throw<PolicyLoadException>(() => PolicyParser.Parse("version: 1\n" + body, "p.yaml"));

        ex.Line.ShouldBe(line);
        ex.Message.ShouldContain(reason);
        ex.Problems[0].ShouldStartWith($"p.yaml:{line}:");
    }

    [Fact]
    public void Wrong_version_and_empty_file_are_refused()
    {
        Should.Throw<PolicyLoadException>(() => PolicyParser.Parse("version: 2\n", "v.yaml")).Message.ShouldContain("'version' must be 1");
        Should.Throw<PolicyLoadException>(() => PolicyParser.Parse("", "e.yaml")).Message.ShouldContain("empty");
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("10m", 600)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    public void Periods_parse_in_seconds_minutes_hours_and_days(string text, int seconds)
    {
        PolicyParser.TryParsePeriod(text, out var period).ShouldBeTrue();
        period.ShouldBe(TimeSpan.FromSeconds(seconds));
    }

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("0h")]
    [InlineData("-1h")]
    [InlineData("5w")]
    public void Bad_periods_do_not_parse(string text) => PolicyParser.TryParsePeriod(text, out _).ShouldBeFalse();
}
