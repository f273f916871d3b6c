using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace HeartTwin.Sharing.Webhooks;

/// <summary>Matches events against the subscriptions and writes one durable delivery per match; wakes the dispatcher.</summary>
internal sealed class WebhookOutbox(SharingStore store, TimeProvider time)
{
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Completes a read when a delivery was queued since the last read.</summary>
    public ChannelReader<bool> Wake => wake.Reader;

    public bool HasSubscribers(string patientId, string category)
    {
        foreach (var s in store.Subscriptions)
        {
            if (s.Matches(patientId, category))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Queues the event for each matching subscription. The delivery id derives from the subscription and the event's key, so a redelivered event is queued once.</summary>
    public void Enqueue(string patientId, string eventName, string key, DateTimeOffset occurredAt, string dataJson)
    {
        string category = ShareEvents.Category[eventName];
        var deliveries = new List<PendingDelivery>();
        foreach (var s in store.Subscriptions)
        {
            if (!s.Matches(patientId, category))
            {
                continue;
            }

            string id = DeliveryId(s.Id, eventName, key);
            deliveries.Add(new PendingDelivery(id, s.Id, patientId, category, eventName, Envelope(id, s, patientId, category, eventName, occurredAt, dataJson), 0));
        }

        if (deliveries.Count > 0 && store.Enqueue(deliveries, time.GetUtcNow()) > 0)
        {
            wake.Writer.TryWrite(true);
        }
    }

    private static string DeliveryId(string subscriptionId, string eventName, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{subscriptionId}\n{eventName}\n{key}")))[..32];

    private static string Envelope(string id, WebhookSubscription s, string patientId, string category, string eventName, DateTimeOffset occurredAt, string dataJson)
    {
        var buffer = new ArrayBufferWriter<byte>(dataJson.Length + 256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("subscriptionId", s.Id);
            w.WriteString("recipientId", s.RecipientId);
            w.WriteString("patientId", patientId);
            w.WriteString("category", category);
            w.WriteString("event", eventName);
            w.WriteString("occurredAt", occurredAt);
            w.WritePropertyName("data");
            w.WriteRawValue(dataJson, skipInputValidation: true);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The signature header value: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of the body.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
