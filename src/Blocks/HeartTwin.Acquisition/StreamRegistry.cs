using System.Collections.Concurrent;
using HeartTwin.Signals.Beats;
using Microsoft.Extensions.Options;

namespace HeartTwin.Acquisition;

/// <summary>The per-stream state of every device seen, keyed by device id, with eviction of idle streams.</summary>
internal sealed class StreamRegistry(IOptions<AcquisitionOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, StreamState> _streams = new(StringComparer.Ordinal);
    private readonly TimeSpan _idle = TimeSpan.FromMinutes(options.Value.IdleStreamMinutes);
    private readonly BeatWindowSpec _spec = BeatWindowSpec.FromVersion(options.Value.BeatSpecVersion);

    /// <summary>Streams held now.</summary>
    public int Count => _streams.Count;

    /// <summary>The state of a device's stream, created on first use.</summary>
    public StreamState Get(string deviceId) => _streams.GetOrAdd(deviceId, static (id, spec) => new StreamState(id, spec), _spec);

    /// <summary>The state of a device's stream if it is held.</summary>
    public bool TryGet(string deviceId, out StreamState? state) => _streams.TryGetValue(deviceId, out state);

    /// <summary>
    /// Forgets the streams that received no batch for <see cref="AcquisitionOptions.IdleStreamMinutes"/>. A stream busy
    /// with a batch is left for the next sweep. Its pending beats (the last second or so) are dropped with it.
    /// </summary>
    /// <returns>The number of streams forgotten.</returns>
    public int EvictIdle()
    {
        var limit = time.GetUtcNow() - _idle;
        var evicted = 0;
        foreach (var (id, state) in _streams)
        {
            if (state.LastActivity >= limit || !state.Gate.Wait(0))
            {
                continue;
            }

            try
            {
                if (state.LastActivity < limit && _streams.TryRemove(new KeyValuePair<string, StreamState>(id, state)))
                {
                    evicted++;
                }
            }
            finally
            {
                state.Gate.Release();
            }
        }

        return evicted;
    }
}
