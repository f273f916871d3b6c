using BenchmarkDotNet.Attributes;
using HeartTwin.Acquisition;
using HeartTwin.Contracts;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Throughput of one Acquisition stream: 2 leads at 360 Hz in 1-second batches of MIT-BIH record 101 (record 100 is not
/// among the shared records), through the whole per-stream path (ADC → mV, QRS detection, beat features, windows with
/// quality, message building), without the bus. One operation is one frame (one sample of each of the 2 leads);
/// a real-time stream needs 360 frames/s.
/// </summary>
[MemoryDiagnoser]
public class AcquisitionBenchmarks
{
    private const int Seconds = 300;
    private const int Rate = 360;
    private readonly List<SamplesReceived> _batches = [];

    [GlobalSetup]
    public void Setup()
    {
        var record = WfdbRecord.Read(BenchmarkData.MitDb, "101");
        var leads = record.Header.Signals.Select(s => new LeadInfo(s.Description, s.AdcGain, s.Baseline, s.Units)).ToArray();
        var start = new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
        for (var s = 0; s < Seconds; s++)
        {
            var samples = new int[2][];
            for (var l = 0; l < 2; l++)
            {
                samples[l] = record.Adc(l).Slice(s * Rate, Rate).ToArray();
            }

            _batches.Add(new SamplesReceived("dev", "patient", s, start.AddSeconds(s), Rate, leads, samples, start.AddSeconds(s + 1), "mqtt"));
        }
    }

    [Benchmark(OperationsPerInvoke = Seconds * Rate, Description = "Acquisition stream, 2 leads @ 360 Hz, 1-s batches, per frame")]
    public int Stream()
    {
        var state = new StreamState("dev", BeatWindowSpec.FromVersion(new AcquisitionOptions().BeatSpecVersion)); // the spec the block cuts by default
        var window = TimeSpan.FromSeconds(10);
        var messages = 0;
        foreach (var batch in _batches)
        {
            state.Process(batch, window);
            messages += state.Outbox.Count;
            state.Outbox.Clear();
        }

        return messages;
    }

    [Benchmark(OperationsPerInvoke = Seconds * Rate, Description = "Parts: detector alone, per frame")]
    public int DetectorAlone()
    {
        var detector = new HeartTwin.Signals.Detection.QrsDetector(2, Rate);
        var frames = new float[Rate * 2];
        var found = new List<long>();
        foreach (var batch in _batches)
        {
            for (var i = 0; i < Rate; i++)
            {
                frames[2 * i] = (batch.Samples[0][i] - 1024) / 200f;
                frames[(2 * i) + 1] = (batch.Samples[1][i] - 1024) / 200f;
            }

            detector.Process(frames, found);
        }

        return found.Count;
    }

    [Benchmark(OperationsPerInvoke = Seconds * Rate, Description = "Parts: beat extractor alone (beats every 0.8 s), per frame")]
    public int ExtractorAlone()
    {
        var extractor = new HeartTwin.Signals.Beats.BeatFeatureExtractor(HeartTwin.Signals.Beats.BeatWindowSpec.Version1, Rate);
        var lead = new float[Rate];
        var done = new List<HeartTwin.Signals.Beats.BeatFeatures>();
        long next = 100;
        long fed = 0;
        foreach (var batch in _batches)
        {
            for (var i = 0; i < Rate; i++)
            {
                lead[i] = (batch.Samples[0][i] - 1024) / 200f;
            }

            extractor.Process(lead, done);
            fed += Rate;
            while (next < fed)
            {
                extractor.AddBeat(next, done);
                next += 288;
            }
        }

        return done.Count;
    }
}
