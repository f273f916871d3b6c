using System.Text.Json;
using HeartTwin.Testing;

namespace HeartTwin.Deploy.Tests;

/// <summary>Each block has its thin host, named as the manifests, the runner and the bus expect.</summary>
public sealed class ServiceHostsTests
{
    public static TheoryData<string> Blocks() => ["Connector", "Acquisition", "Storage", "Agent", "Inference", "Policy", "Actuation", "Sharing"];

    [Theory]
    [MemberData(nameof(Blocks))]
    public void A_block_host_composes_its_block_under_its_service_name_with_the_bus_settings(string block)
    {
        string dir = Path.Combine(SharedTestPaths.RepoRoot, "src", "Hosts", $"HeartTwin.{block}.Host");
        string service = block.ToLowerInvariant();
        string program = File.ReadAllText(Path.Combine(dir, "Program.cs"));
        program.ShouldContain($"ServiceHost.CreateBuilder(args, \"{service}\")");
        program.ShouldContain("app.MapServiceEndpoints();");
        program.ShouldContain($"builder.Add{block}");
        File.ReadAllLines(Path.Combine(dir, "Program.cs")).Length.ShouldBeLessThanOrEqualTo(25, "a service host is a thin composition");
        File.Exists(Path.Combine(dir, "README.md")).ShouldBeTrue();

        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "appsettings.json")));
        var messaging = settings.RootElement.GetProperty("Messaging");
        messaging.GetProperty("Transport").GetString().ShouldBe("Mqtt");
        var mqtt = messaging.GetProperty("Mqtt");
        foreach (var key in new[] { "Host", "Port", "Username", "Password", "Partitions", "ServiceName", "ReplicaCount" })
        {
            mqtt.TryGetProperty(key, out _).ShouldBeTrue($"{block}: Messaging:Mqtt:{key} is missing from appsettings.json");
        }

        mqtt.GetProperty("ServiceName").GetString().ShouldBe(service);
        // The index comes from the environment or the pod's name; a fixed value here would hide both.
        mqtt.TryGetProperty("ReplicaIndex", out _).ShouldBeFalse($"{block}: ReplicaIndex must not be fixed in appsettings.json");
    }

    [Fact]
    public void The_bus_is_registered_in_exactly_one_place_marked_for_the_merge()
    {
        var marked = Directory.EnumerateFiles(Path.Combine(SharedTestPaths.RepoRoot, "src", "Hosts"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}HeartTwin.Host{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) // the embedded host has its own
            .SelectMany(f => File.ReadAllLines(f).Select(l => (f, l)))
            .Where(x => x.l.Contains("AddMessaging()", StringComparison.Ordinal) || x.l.Contains("AddConfiguredMessaging()", StringComparison.Ordinal))
            .ToList();
        marked.ShouldHaveSingleItem($"the service hosts register the bus in one line (ServiceHost.cs): {string.Join("; ", marked.Select(m => m.f))}");
    }
}
