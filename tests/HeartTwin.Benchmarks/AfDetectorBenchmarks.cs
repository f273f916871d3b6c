using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Speed of the streaming AF detector, per beat, on 20,000 beats that alternate between sinus rhythm and AF
/// (so episode logic runs too). OperationsPerInvoke is the beat count, so Mean reads as ns per beat.
/// </summary>
[MemoryDiagnoser]
public class AfDetectorBenchmarks
{
    private const int Beats = 20_000;
    private readonly List<AfBeat> _beats = new(Beats);
    private readonly List<AfEpisodeEvent> _events = new(64);
    private double[] _times = [];
    private bool[] _ventricular = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _times = new double[Beats];
        var t = 0.0;
        for (var i = 0; i < Beats; i++)
        {
            var inAf = i / 1000 % 2 == 1;
            t += inAf ? 0.4 + (0.6 * random.NextDouble()) : 0.8 + (0.03 * Math.Sin(2 * Math.PI * i / 5.0));
            _times[i] = t;
        }

        // One beat in 10 flagged ventricular, a couplet in every 50: the held-run path the twin takes with the beat model.
        _ventricular = [.. Enumerable.Range(0, Beats).Select(i => i % 10 == 5 || i % 50 == 6)];
    }

    [Benchmark(OperationsPerInvoke = Beats, Description = "AF detector, per beat (with COSEn)")]
    public int WithEntropy() => Run(new AfDetector());

    [Benchmark(OperationsPerInvoke = Beats, Description = "AF detector, per beat (Petrenas only)")]
    public int PaperOnly() => Run(new AfDetector(new AfDetectorOptions { UseEntropyConfirmation = false }));

    [Benchmark(OperationsPerInvoke = Beats, Description = "AF detector, per beat (with COSEn, 12% of beats flagged V)")]
    public int WithEctopy() => Run(new AfDetector(), _ventricular);

    private int Run(AfDetector detector, bool[]? ventricular = null)
    {
        _beats.Clear();
        _events.Clear();
        for (var i = 0; i < _times.Length; i++)
        {
            detector.AddBeat(_times[i], ventricular is not null && ventricular[i], _beats, _events);
        }

        detector.Flush(_beats, _events);
        return _beats.Count;
    }
}
