using HeartTwin.ServiceHost;
using Microsoft.Extensions.Configuration;

namespace HeartTwin.Deploy.Tests;

/// <summary>The distributed defaults fill only what nothing else set, and a StatefulSet pod's name gives its replica index.</summary>
public sealed class ServiceHostDefaultsTests
{
    [Theory]
    [InlineData("acquisition-0", 0)]
    [InlineData("acquisition-1", 1)]
    [InlineData("agent-12", 12)]
    [InlineData("hearttwin-agent-3", 3)]
    public void A_stateful_set_pod_name_gives_its_ordinal(string pod, int expected) =>
        ServiceHostDefaults.ReplicaIndexFromPodName(pod).ShouldBe(expected);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gateway-7d9f8b6c4-x2kq9")]
    [InlineData("acquisition")]
    [InlineData("acquisition-1a")]
    public void Any_other_name_gives_no_index(string? pod) =>
        ServiceHostDefaults.ReplicaIndexFromPodName(pod).ShouldBeNull();

    [Fact]
    public void The_defaults_name_the_service_and_put_every_file_under_one_data_folder()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HeartTwin:DataDirectory"] = "/data",
            ["POD_NAME"] = "acquisition-1",
        }).Build();

        var defaults = ServiceHostDefaults.For(config, "acquisition", "/app");

        defaults["Messaging:Transport"].ShouldBe("Mqtt");
        defaults["Messaging:Mqtt:ServiceName"].ShouldBe("acquisition");
        defaults["Messaging:Mqtt:ReplicaIndex"].ShouldBe("1");
        defaults["OTEL_SERVICE_NAME"].ShouldBe("hearttwin-acquisition");
        defaults["Storage:DataDirectory"].ShouldBe("/data");
        defaults["Connector:DataDirectory"].ShouldBe("/data");
        defaults["Sharing:DataDirectory"].ShouldBe("/data");
        defaults["Inference:ModelsDirectory"].ShouldBe(Path.Combine("/app", "models"));
        defaults["Policy:Path"].ShouldBe(Path.Combine("/app", "policy", "default.yaml"));
    }

    [Fact]
    public void What_the_environment_sets_is_never_overridden()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "InMemory",
            ["Messaging:Mqtt:ServiceName"] = "acquisition-blue",
            ["Messaging:Mqtt:ReplicaIndex"] = "3",
            ["POD_NAME"] = "acquisition-1",
            ["Policy:Path"] = "/etc/hearttwin/policy/default.yaml",
            ["OTEL_SERVICE_NAME"] = "custom",
        }).Build();

        var defaults = ServiceHostDefaults.For(config, "acquisition", "/app");

        defaults.ShouldNotContainKey("Messaging:Transport");
        defaults.ShouldNotContainKey("Messaging:Mqtt:ServiceName");
        defaults.ShouldNotContainKey("Messaging:Mqtt:ReplicaIndex");
        defaults.ShouldNotContainKey("Policy:Path");
        defaults.ShouldNotContainKey("OTEL_SERVICE_NAME");
    }

    [Fact]
    public void A_service_name_that_cannot_name_a_consumer_group_is_refused() =>
        Should.Throw<ArgumentException>(() => HeartTwin.ServiceHost.ServiceHost.CreateBuilder([], "Storage Service"));
}
