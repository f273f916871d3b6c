using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace HeartTwin.Sharing.Streaming;

/// <summary>
/// Fans live events out to connected stream clients. Publishing never waits: each client has a bounded buffer that
/// drops its oldest item when full, so a slow client loses data (and is told so) but never slows the bus.
/// </summary>
internal sealed class LiveHub
{
    private readonly ConcurrentDictionary<string, ImmutableArray<LiveClient>> clients = new(StringComparer.Ordinal);

    /// <summary>Connected clients over all patients.</summary>
    public int ClientCount => clients.Values.Sum(c => c.Length);

    /// <summary>Whether anyone listens to this patient (lets the handlers skip serialising for nobody).</summary>
    public bool HasClients(string patientId) => clients.TryGetValue(patientId, out var list) && !list.IsEmpty;

    public LiveClient Register(string patientId, IReadOnlySet<string> categories, int capacity)
    {
        var client = new LiveClient(patientId, categories, capacity);
        clients.AddOrUpdate(patientId, _ => [client], (_, list) => list.Add(client));
        return client;
    }

    public void Unregister(LiveClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        while (clients.TryGetValue(client.PatientId, out var list))
        {
            var updated = list.Remove(client);
            bool done = updated.IsEmpty
                ? clients.TryRemove(new KeyValuePair<string, ImmutableArray<LiveClient>>(client.PatientId, list))
                : clients.TryUpdate(client.PatientId, updated, list);
            if (done)
            {
                return;
            }
        }
    }

    /// <summary>Offers an event to every client of the patient that may receive its category.</summary>
    public void Publish(string patientId, string eventName, string json)
    {
        if (!clients.TryGetValue(patientId, out var list))
        {
            return;
        }

        string category = ShareEvents.Category[eventName];
        var item = new SseItem<string>(json, eventName);
        foreach (var client in list)
        {
            if (client.Categories.Contains(category))
            {
                client.Offer(item);
            }
        }
    }
}

/// <summary>One connected stream client: its allowed categories and its bounded buffer.</summary>
internal sealed class LiveClient
{
    private readonly Channel<SseItem<string>> buffer;
    private long dropped;

    public LiveClient(string patientId, IReadOnlySet<string> categories, int capacity)
    {
        PatientId = patientId;
        Categories = categories;
        buffer = Channel.CreateBounded<SseItem<string>>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false },
            _ => Interlocked.Increment(ref dropped));
    }

    public string PatientId { get; }

    public IReadOnlySet<string> Categories { get; }

    /// <summary>Items dropped since the client last heard of it.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    public void Offer(SseItem<string> item) => buffer.Writer.TryWrite(item);

    public void Complete() => buffer.Writer.TryComplete();

    /// <summary>The client's events; a <c>lag</c> event with the count comes before the first item after any drop.</summary>
    public async IAsyncEnumerable<SseItem<string>> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var reader = buffer.Reader;
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            while (true)
            {
                long lost = Interlocked.Exchange(ref dropped, 0);
                if (lost > 0)
                {
                    yield return new SseItem<string>(string.Create(CultureInfo.InvariantCulture, $$"""{"dropped":{{lost}}}"""), "lag");
                }

                if (!reader.TryRead(out var item))
                {
                    break;
                }

                yield return item;
            }
        }
    }
}
