namespace HeartTwin.Messaging.Mqtt;

/// <summary>The topic layout of the bus on the broker.</summary>
public static class MqttTopics
{
    /// <summary>Root of every bus topic.</summary>
    public const string Root = "hearttwin";

    /// <summary>Events and commands: <c>hearttwin/bus/{MessageType}/{partition}</c>.</summary>
    public static string Bus(string messageType, int partition) => $"{Root}/bus/{messageType}/{partition}";

    /// <summary>Requests of one type: <c>hearttwin/req/{RequestType}</c>.</summary>
    public static string Request(string requestType) => $"{Root}/req/{requestType}";

    /// <summary>
    /// The shared subscription through which the replicas of <paramref name="serviceName"/> take turns answering a request type
    /// (requests carry no order, so the broker may spread them per message).
    /// </summary>
    public static string SharedRequest(string serviceName, string requestType) => $"$share/{serviceName}/{Request(requestType)}";

    /// <summary>Where answers to one client's requests come back: <c>hearttwin/resp/{clientId}</c>.</summary>
    public static string Response(string clientId) => $"{Root}/resp/{clientId}";

    /// <summary>Where a service publishes the messages it parked: <c>hearttwin/deadletters/{ServiceName}</c>.</summary>
    public static string DeadLetters(string serviceName) => $"{Root}/deadletters/{serviceName}";

    /// <summary>The partitions a replica owns: p with p mod <paramref name="replicaCount"/> = <paramref name="replicaIndex"/>.</summary>
    public static IEnumerable<int> OwnedPartitions(int partitions, int replicaIndex, int replicaCount)
    {
        for (int p = replicaIndex; p < partitions; p += replicaCount)
        {
            yield return p;
        }
    }

    /// <summary>The partition of a patient: the in-process bus's FNV-1a hash, so both transports agree.</summary>
    public static int PartitionOf(string? patientId, int partitions) => InMemory.InMemoryBus.PartitionOf(patientId, partitions);

    /// <summary>Reads <c>hearttwin/bus/{type}/{partition}</c>; false for any other topic.</summary>
    internal static bool TryParseBus(string topic, out string messageType, out int partition)
    {
        messageType = string.Empty;
        partition = -1;
        const string prefix = Root + "/bus/";
        if (!topic.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic.AsSpan(prefix.Length);
        int slash = rest.IndexOf('/');
        if (slash <= 0 || !int.TryParse(rest[(slash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out partition))
        {
            return false;
        }

        messageType = rest[..slash].ToString();
        return true;
    }

    /// <summary>Reads <c>hearttwin/req/{type}</c>; false for any other topic.</summary>
    internal static bool TryParseRequest(string topic, out string requestType)
    {
        const string prefix = Root + "/req/";
        requestType = topic.StartsWith(prefix, StringComparison.Ordinal) ? topic[prefix.Length..] : string.Empty;
        return requestType.Length > 0 && !requestType.Contains('/', StringComparison.Ordinal);
    }
}
