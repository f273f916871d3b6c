using HeartTwin.Contracts;
using static HeartTwin.Policy.Tests.Proposals;

namespace HeartTwin.Policy.Tests;

public sealed class DecisionTests
{
    internal const string Descriptor = """
        version: 1
        sharing:
          consentWithdrawals:
            - patient: p-withdrawn
              categories: [ecg]
              since: "2026-10-01"
          rules:
            - id: admin-all
              scopes: [admin]
              effect: allow
            - id: partner-twin
              recipients: [twin-b]
              patients: [p1, p-withdrawn]
              categories: [events, state, ecg]
              purposes: [webhook]
              effect: allow
            - id: no-audit
              categories: [audit]
              effect: deny
            - id: clinical
              scopes: [system/*.rs, patient/*.rs]
              categories: [ecg, beats, events, actions, state, vitals]
              effect: allow
        alerts:
          rules:
            - id: quiet-device
              eventTypes: [signal-lost]
              minSeverity: warning
              effect: allow
            - id: no-gaps
              eventTypes: [sequence-gap]
              effect: deny
            - id: cardiac
              eventTypes: [af-onset, ventricular-run]
              effect: allow
        actuation:
          rules:
            - id: alarm
              command: raise-alarm
              proposers: [agent, user]
              parameters:
                level: { required: true, min: 1, max: 3 }
                message: { maxLength: 20 }
              rateLimit: { max: 2, per: 1h }
            - id: rate
              command: set-sample-rate
              proposers: [user]
              parameters:
                sampleRateHz: { required: true, values: ["250", "360"] }
            - id: pacing-lower
              command: adjust-pacing
              proposers: [dr-house]
              match: { parameter: lowerRateBpm }
              parameters:
                value: { required: true, min: 40, max: 90 }
        """;

    private static readonly PolicyDocument Policy = PolicyParser.Parse(Descriptor, "test.yaml");
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Command_within_its_bounds_is_allowed_by_its_rule()
    {
        var v = new PolicyEngine().DecideAction(Policy, Command("raise-alarm", P("level", "2", "message", "check patient")), Now);

        v.Allowed.ShouldBeTrue(v.Reason);
        v.Rule.ShouldBe("alarm");
    }

    [Fact]
    public void Unknown_command_is_denied()
    {
        var v = new PolicyEngine().DecideAction(Policy, Command("open-valve", P()), Now);

        v.Allowed.ShouldBeFalse();
        v.Rule.ShouldBe("unknown-command");
    }

    [Fact]
    public void Command_without_target_device_is_denied()
    {
        var v = new PolicyEngine().DecideAction(Policy, Command("raise-alarm", P("level", "1"), device: null), Now);

        v.Allowed.ShouldBeFalse();
        v.Rule.ShouldBe("no-device");
    }

    [Theory]
    [InlineData("raise-alarm", "level=4", "above the maximum 3")]
    [InlineData("raise-alarm", "level=0", "below the minimum 1")]
    [InlineData("raise-alarm", "level=loud", "not a number")]
    [InlineData("raise-alarm", "", "'level' is required")]
    [InlineData("raise-alarm", "level=2,volume=11", "'volume' is not allowed")]
    [InlineData("raise-alarm", "level=2,message=this message is far too long", "longer than 20")]
    [InlineData("set-sample-rate", "sampleRateHz=1000", "not one of 250, 360")]
    public void Parameter_out_of_bounds_is_denied_by_the_rule_with_the_reason(string command, string parameters, string reason)
    {
        var dict = parameters.Length == 0 ? P() : P([.. parameters.Split(',').SelectMany(p => p.Split('='))]);

        var v = new PolicyEngine().DecideAction(Policy, Command(command, dict, proposedBy: "nurse-1"), Now);

        v.Allowed.ShouldBeFalse();
        v.Rule.ShouldNotBe(PolicyEngine.DefaultDeny);
        v.Reason.ShouldContain(reason);
    }

    [Fact]
    public void Numeric_values_compare_as_numbers()
    {
        var v = new PolicyEngine().DecideAction(Policy, Command("set-sample-rate", P("sampleRateHz", "360.0"), proposedBy: "nurse-1"), Now);

        v.Allowed.ShouldBeTrue(v.Reason);
    }

    [Fact]
    public void Proposer_not_listed_is_denied()
    {
        var engine = new PolicyEngine();

        // Only people may change the rate; the agent may not.
        var agent = engine.DecideAction(Policy, Command("set-sample-rate", P("sampleRateHz", "250"), proposedBy: "agent"), Now);
        agent.Allowed.ShouldBeFalse();
        agent.Rule.ShouldBe(PolicyEngine.DefaultDeny);

        // Pacing: only the named subject.
        engine.DecideAction(Policy, Command("adjust-pacing", P("parameter", "lowerRateBpm", "value", "60"), proposedBy: "nurse-1"), Now)
            .Allowed.ShouldBeFalse();
        engine.DecideAction(Policy, Command("adjust-pacing", P("parameter", "lowerRateBpm", "value", "60"), proposedBy: "dr-house"), Now)
            .Allowed.ShouldBeTrue();
    }

    [Fact]
    public void Match_selects_the_rule_by_parameter_value()
    {
        var v = new PolicyEngine().DecideAction(Policy, Command("adjust-pacing", P("parameter", "upperRateBpm", "value", "120"), proposedBy: "dr-house"), Now);

        v.Allowed.ShouldBeFalse();
        v.Rule.ShouldBe(PolicyEngine.DefaultDeny);
    }

    [Fact]
    public void Rate_limit_counts_allowed_commands_per_device_and_period()
    {
        var engine = new PolicyEngine();
        var alarm = P("level", "1");
        for (int i = 0; i < 2; i++)
        {
            var ok = engine.DecideAction(Policy, Command("raise-alarm", alarm), Now.AddMinutes(i));
            ok.Allowed.ShouldBeTrue();
            engine.RecordSent(Policy, ok.Rule, "d1", Now.AddMinutes(i));
        }

        var third = engine.DecideAction(Policy, Command("raise-alarm", alarm), Now.AddMinutes(5));
        third.Allowed.ShouldBeFalse();
        third.Reason.ShouldContain("rate limit of 2 per 1h");

        // Another device has its own budget; the first device's budget frees up as the window slides.
        engine.DecideAction(Policy, Command("raise-alarm", alarm, device: "d2"), Now.AddMinutes(5)).Allowed.ShouldBeTrue();
        engine.DecideAction(Policy, Command("raise-alarm", alarm), Now.AddMinutes(60).AddSeconds(1)).Allowed.ShouldBeTrue();
    }

    [Theory]
    [InlineData("af-onset", "info", true, "cardiac")]
    [InlineData("signal-lost", "info", false, "quiet-device")]
    [InlineData("signal-lost", "critical", true, "quiet-device")]
    [InlineData("sequence-gap", "critical", false, "no-gaps")]
    [InlineData("heart-rate-high", "critical", false, "default-deny")]
    public void Alerts_follow_event_type_and_severity_threshold(string eventType, string severity, bool allowed, string rule)
    {
        var v = new PolicyEngine().DecideAction(Policy, Alert(eventType, severity), Now);

        v.Allowed.ShouldBe(allowed, v.Reason);
        v.Rule.ShouldBe(rule);
    }

    [Theory]
    [InlineData("admin", "admin", "p9", "audit", "api", true, "admin-all")]
    [InlineData("nurse", "system/*.rs", "p9", "ecg", "stream", true, "clinical")]
    [InlineData("nurse", "system/*.rs", "p9", "audit", "api", false, "no-audit")]
    [InlineData("stranger", "", "p1", "ecg", "api", false, "default-deny")]
    [InlineData("twin-b", "", "p1", "events", "webhook", true, "partner-twin")]
    [InlineData("twin-c", "", "p1", "events", "webhook", false, "default-deny")]
    [InlineData("twin-b", "", "p2", "events", "webhook", false, "default-deny")]
    [InlineData("twin-b", "", "p1", "vitals", "webhook", false, "default-deny")]
    [InlineData("twin-b", "", "p1", "events", "api", false, "default-deny")]
    [InlineData("twin-b", "", "p-withdrawn", "ecg", "webhook", false, "consent-withdrawal:p-withdrawn")]
    [InlineData("twin-b", "", "p-withdrawn", "events", "webhook", true, "partner-twin")]
    [InlineData("admin", "admin", "p-withdrawn", "ecg", "api", false, "consent-withdrawal:p-withdrawn")]
    [InlineData("nurse", "system/*.rs", "p1", "genome", "api", false, "unknown-category")]
    [InlineData("nurse", "system/*.rs", "p1", "ecg", "carrier-pigeon", false, "unknown-purpose")]
    public void Shares_follow_recipient_scope_patient_category_purpose_and_consent(
        string recipient, string scope, string patient, string category, string purpose, bool allowed, string rule)
    {
        string[] scopes = scope.Length == 0 ? [] : [scope];

        var v = PolicyEngine.DecideShare(Policy, new ShareRequest(recipient, scopes, patient, category, purpose));

        v.Allowed.ShouldBe(allowed, v.Reason);
        v.Rule.ShouldBe(rule);
    }
}
