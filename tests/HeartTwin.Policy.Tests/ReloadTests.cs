using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Policy.Tests;

public sealed class ReloadTests
{
    private const string First = "version: 1\nalerts:\n  rules:\n    - id: first\n      eventTypes: [af-onset]\n";
    private const string Second = "version: 1\nalerts:\n  rules:\n    - id: second\n      eventTypes: [af-onset]\n";

    [Fact]
    public async Task Missing_descriptor_is_a_startup_error_naming_the_file()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "absent.yaml");
        await using var harness = await PolicyHarness.StartAsync(path);

        var ex = Should.Throw<PolicyLoadException>(() => harness.Services.GetRequiredService<PolicyStore>());

        ex.Message.ShouldContain("absent.yaml");
    }

    [Fact]
    public async Task Invalid_descriptor_at_start_is_a_startup_error_with_line()
    {
        using var dir = new TempDir();
        string path = dir.Write("bad.yaml", "version: 1\nalerts:\n  rules:\n    - id: x\n      effect: perhaps\n");
        await using var harness = await PolicyHarness.StartAsync(path);

        var ex = Should.Throw<PolicyLoadException>(() => harness.Services.GetRequiredService<PolicyStore>());

        ex.Message.ShouldContain("bad.yaml:4:");
    }

    [Fact]
    public async Task Version_is_the_content_hash_and_changes_with_the_content()
    {
        using var dir = new TempDir();
        string path = dir.Write("p.yaml", First);
        await using var harness = await PolicyHarness.StartAsync(path);
        var store = harness.Services.GetRequiredService<PolicyStore>();
        string v1 = store.Current.Version;

        v1.ShouldMatch("^[0-9a-f]{16}$");
        store.Reload().ShouldBeFalse();
        File.WriteAllText(path, Second);
        store.Reload().ShouldBeTrue();
        store.Current.Version.ShouldNotBe(v1);
        store.Current.Document.Alerts.Rules[0].Id.ShouldBe("second");
    }

    [Fact]
    public async Task Changed_file_is_reloaded_by_the_watcher_without_a_restart()
    {
        using var dir = new TempDir();
        string path = dir.Write("p.yaml", First);
        await using var harness = await PolicyHarness.StartAsync(path, startHosted: true);
        var store = harness.Services.GetRequiredService<PolicyStore>();

        File.WriteAllText(path, Second);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.Current.Document.Alerts.Rules[0].Id != "second" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        store.Current.Document.Alerts.Rules[0].Id.ShouldBe("second");
    }

    [Fact]
    public async Task Broken_new_file_keeps_the_previous_descriptor_in_force()
    {
        using var dir = new TempDir();
        string path = dir.Write("p.yaml", First);
        await using var harness = await PolicyHarness.StartAsync(path, startHosted: true);
        var store = harness.Services.GetRequiredService<PolicyStore>();
        string before = store.Current.Version;

        File.WriteAllText(path, "version: 1\nalerts:\n  rules:\n    - id: x\n      eventTypes: [nonsense]\n");
        store.Reload().ShouldBeFalse();
        await Task.Delay(1500); // let the watcher and the periodic check see it too

        store.Current.Version.ShouldBe(before);
        store.Current.Document.Alerts.Rules[0].Id.ShouldBe("first");
        var decision = await DecideAlertAsync(harness);
        decision.Rule.ShouldBe("first");

        File.WriteAllText(path, Second);
        store.Reload().ShouldBeTrue();
        store.Current.Document.Alerts.Rules[0].Id.ShouldBe("second");
    }

    private static async Task<HeartTwin.Contracts.ActionDecided> DecideAlertAsync(PolicyHarness harness)
    {
        var proposal = Proposals.Alert("af-onset", "warning");
        await harness.Bus.PublishAsync(proposal);
        return harness.Decisions.Received.Single(d => d.Proposal.ActionId == proposal.ActionId);
    }
}
