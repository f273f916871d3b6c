using HeartTwin.ServiceDefaults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeartTwin.Messaging.Tests;

public sealed class TokenServiceTests
{
    private static TokenService Create(string? admin = "admin-secret", string? key = "0123456789abcdef0123456789abcdef") =>
        new(Options.Create(new AuthOptions { AdminToken = admin, SigningKey = key }), NullLogger<TokenService>.Instance);

    [Fact]
    public async Task The_admin_token_authenticates_as_admin()
    {
        var principal = await Create().ValidateAsync("admin-secret");
        principal.ShouldNotBeNull();
        var p = HeartTwinPrincipal.From(principal);
        p.IsAdmin.ShouldBeTrue();
        p.CanRead("anyone").ShouldBeTrue();
    }

    [Fact]
    public async Task An_issued_patient_token_reads_only_its_patients()
    {
        var tokens = Create();
        var (token, _) = tokens.Issue("dr-lee", [Scopes.PatientRead], ["p1", "p2"], TimeSpan.FromHours(1));
        var p = HeartTwinPrincipal.From((await tokens.ValidateAsync(token)).ShouldNotBeNull());
        p.Subject.ShouldBe("dr-lee");
        p.CanRead("p1").ShouldBeTrue();
        p.CanRead("p3").ShouldBeFalse();
        p.CanWrite("p1").ShouldBeFalse();
        p.IsAdmin.ShouldBeFalse();
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_rejected()
    {
        var (token, _) = Create(key: "another-key-another-key-another-key!").Issue("x", [Scopes.SystemRead], [], TimeSpan.FromHours(1));
        (await Create().ValidateAsync(token)).ShouldBeNull();
    }

    [Fact]
    public async Task A_tampered_token_is_rejected()
    {
        var tokens = Create();
        var (token, _) = tokens.Issue("x", [Scopes.PatientRead], ["p1"], TimeSpan.FromHours(1));
        var parts = token.Split('.');
        parts[1] = parts[1][..^2] + (parts[1][^2] == 'A' ? "B" : "A") + parts[1][^1];
        (await tokens.ValidateAsync(string.Join('.', parts))).ShouldBeNull();
        (await tokens.ValidateAsync("garbage")).ShouldBeNull();
        (await tokens.ValidateAsync("")).ShouldBeNull();
    }

    [Fact]
    public void An_unknown_scope_is_refused()
    {
        Should.Throw<ArgumentException>(() => Create().Issue("x", ["patient/*.*", "root"], [], TimeSpan.FromHours(1)))
            .Message.ShouldContain("root");
    }

    [Fact]
    public void Without_configuration_an_admin_token_is_generated()
    {
        var tokens = Create(admin: null, key: null);
        tokens.AdminTokenGenerated.ShouldBeTrue();
        tokens.AdminToken.Length.ShouldBeGreaterThan(32);
    }

    [Fact]
    public void A_short_signing_key_is_a_configuration_error()
    {
        Should.Throw<OptionsValidationException>(() => Create(key: "short"));
    }
}
