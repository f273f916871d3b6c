using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeartTwin.Messaging.Mqtt.Tests;

public sealed class RegistrationTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddConfiguredMessaging();
        return builder.Build();
    }

    [Fact]
    public void The_in_memory_transport_stays_when_the_configuration_does_not_name_mqtt()
    {
        using var host = Build([]);
        host.Services.GetRequiredService<IMessageBus>().ShouldBeOfType<InMemoryBus>();
    }

    [Fact]
    public void Transport_Mqtt_selects_the_mqtt_bus()
    {
        using var host = Build(new() { ["Messaging:Transport"] = "Mqtt" });
        host.Services.GetRequiredService<IMessageBus>().ShouldBeOfType<MqttBus>();
    }

    [Fact]
    public async Task A_replica_index_outside_the_replica_count_stops_the_host_at_start_with_a_clear_error()
    {
        using var host = Build(new() { ["Messaging:Transport"] = "Mqtt", ["Messaging:Mqtt:ReplicaIndex"] = "2", ["Messaging:Mqtt:ReplicaCount"] = "2" });
        var error = await Should.ThrowAsync<OptionsValidationException>(() => host.StartAsync());
        error.Message.ShouldContain("ReplicaIndex (2) must be below ReplicaCount (2)");
    }

    [Fact]
    public void Replicas_own_disjoint_partitions_that_cover_them_all()
    {
        var owned = Enumerable.Range(0, 3).SelectMany(r => MqttTopics.OwnedPartitions(16, r, 3)).ToList();
        owned.Order().ShouldBe(Enumerable.Range(0, 16));
        MqttTopics.Bus("SamplesReceived", 5).ShouldBe("hearttwin/bus/SamplesReceived/5");
        MqttTopics.SharedRequest("storage", "BeatsQuery").ShouldBe("$share/storage/hearttwin/req/BeatsQuery");
    }

    [Fact]
    public void A_patient_maps_to_the_same_partition_in_every_process()
    {
        // FNV-1a of "p-1" mod 16, computed by hand: string.GetHashCode would differ per process and break the assignment.
        uint hash = 2166136261;
        foreach (char c in "p-1")
        {
            hash = (hash ^ c) * 16777619;
        }

        MqttTopics.PartitionOf("p-1", 16).ShouldBe((int)(hash % 16));
    }
}
