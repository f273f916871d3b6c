using System.Collections.Frozen;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>
/// The only types this process will read off the wire: those of its registered subscriptions and request handlers, by name.
/// A type name from the wire is looked up here and never loaded by reflection, so a publisher cannot make the bus
/// instantiate an arbitrary type.
/// </summary>
internal sealed class MessageTypeRegistry
{
    public MessageTypeRegistry(IEnumerable<SubscriptionDescriptor> subscriptions, IEnumerable<RequestHandlerDescriptor> requestHandlers)
    {
        var subs = subscriptions.DistinctBy(d => (d.MessageType, d.HandlerType)).ToList();
        var reqs = requestHandlers.DistinctBy(d => d.RequestType).ToList();
        CheckUniqueNames(subs.Select(s => s.MessageType).Concat(reqs.Select(r => r.RequestType)));
        Subscriptions = subs.GroupBy(s => s.MessageType.Name, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        Requests = reqs.ToFrozenDictionary(r => r.RequestType.Name, StringComparer.Ordinal);
    }

    /// <summary>Subscriptions by message type name (topics carry names, not CLR type names).</summary>
    public FrozenDictionary<string, SubscriptionDescriptor[]> Subscriptions { get; }

    /// <summary>Request handlers by request type name.</summary>
    public FrozenDictionary<string, RequestHandlerDescriptor> Requests { get; }

    private static void CheckUniqueNames(IEnumerable<Type> types)
    {
        var clash = types.Distinct().GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            throw new InvalidOperationException(
                $"Two message types share the name '{clash.Key}' ({string.Join(", ", clash.Select(t => t.FullName))}); MQTT topics carry type names, so they must be unique.");
        }
    }
}
