using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;

namespace HeartTwin.Acquisition;

/// <summary>
/// Everything the block keeps about one device's stream: the last batch sequence processed (for redeliveries), the
/// pipeline of the current continuous segment, and the messages not yet accepted by the bus.
/// </summary>
/// <param name="deviceId">The device.</param>
/// <param name="spec">The beat window spec the stream's beat features follow.</param>
internal sealed class StreamState(string deviceId, BeatWindowSpec spec)
{
    private readonly PipelineOutput _output = new();

    /// <summary>The device.</summary>
    public string DeviceId { get; } = deviceId;

    /// <summary>The beat window spec the stream's beat features follow.</summary>
    public BeatWindowSpec Spec { get; } = spec;

    /// <summary>Serialises the stream's batches (the bus already orders them per patient; this guards the state).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Sequence of the last batch processed; −1 before the first.</summary>
    public long LastSequence { get; set; } = -1;

    /// <summary>UTC time of the last batch, by the block's clock (for idle eviction).</summary>
    public DateTimeOffset LastActivity { get; set; }

    /// <summary>The current segment's pipeline; null before the first batch or after a failure.</summary>
    public StreamPipeline? Pipeline { get; set; }

    /// <summary>Segments started (the first one included).</summary>
    public int Segments { get; private set; }

    /// <summary>Messages produced and not yet published, oldest first.</summary>
    public Queue<object> Outbox { get; } = new();

    /// <summary>
    /// Runs a batch through the pipeline, restarting it first when the batch does not continue the segment, and
    /// queues the resulting messages in <see cref="Outbox"/>.
    /// </summary>
    /// <returns>The reason the pipeline restarted, or null when the batch continued the segment.</returns>
    public string? Process(SamplesReceived batch, TimeSpan window)
    {
        _output.Clear();
        var pipeline = Pipeline;
        var restart = pipeline is null ? null : Discontinuity(pipeline, batch);
        if (pipeline is null || restart is not null)
        {
            // Built before the old segment is finished: a rate the new pipeline refuses then leaves the old one intact.
            var layout = pipeline is not null && pipeline.Layout.SameAs(batch.Leads) ? pipeline.Layout : LeadLayout.Create(batch.Leads);
            var next = new StreamPipeline(layout, batch.SampleRateHz, batch.StartTime, window, Spec);
            pipeline?.Finish(batch, _output);
            Pipeline = pipeline = next;
            Segments++;
        }

        pipeline.Process(batch, _output);
        Enqueue(batch);
        return restart;
    }

    /// <summary>Why a batch does not continue the segment (gap or overlap in time, new rate, other leads), or null.</summary>
    internal static string? Discontinuity(StreamPipeline pipeline, SamplesReceived batch)
    {
        if (batch.SampleRateHz != pipeline.SampleRateHz)
        {
            return "rate";
        }

        if (!pipeline.Layout.SameAs(batch.Leads))
        {
            return "leads";
        }

        // One sample period of tolerance: device clocks are stamped in whole ticks or milliseconds.
        var drift = Math.Abs((batch.StartTime - pipeline.ExpectedNextStart).Ticks);
        return drift > TimeSpan.TicksPerSecond / pipeline.SampleRateHz ? "time" : null;
    }

    private void Enqueue(SamplesReceived batch)
    {
        if (_output.Beats.Count > 0)
        {
            var n = _output.Features.Count;
            var length = Spec.FeatureLength;
            var rrLength = Spec.RrFeatureCount;
            var windows = new float[n * length];
            var rr = new float[n * rrLength];
            for (var i = 0; i < n; i++)
            {
                _output.Features[i].Window.CopyTo(windows, i * length);
                _output.Features[i].Rr.CopyTo(rr, i * rrLength);
            }

            Outbox.Enqueue(new BeatsAcquired(batch.PatientId, batch.DeviceId, batch.Sequence, batch.ReceivedAt,
                Spec.FeatureSpecName, [.. _output.Beats], windows, rr));
        }

        foreach (var window in _output.Windows)
        {
            Outbox.Enqueue(window);
        }
    }
}
