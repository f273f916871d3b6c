using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Filters;
using HeartTwin.Signals.Resampling;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Throughput of the ECG filters and the resampler on half an hour of one lead (650,000 samples, the length of
/// an MIT-BIH record at 360 Hz). OperationsPerInvoke is the input sample count, so Mean reads as ns per input sample.
/// </summary>
[MemoryDiagnoser]
public class FilterBenchmarks
{
    private const int Samples = 650_000;

    private float[] _ecg360 = [];
    private float[] _ecg128 = [];
    private float[] _output = [];
    private EcgFilterChain _chain = null!;
    private SosFilter _zeroPhaseDesign = null!;
    private RationalResampler _to250 = null!;
    private RationalResampler _to360 = null!;
    private float[] _resampled = [];

    [GlobalSetup]
    public void Setup()
    {
        _ecg360 = Synthetic(360.0);
        _ecg128 = Synthetic(128.0);
        _output = new float[Samples];
        _chain = new EcgFilterChain(360.0);
        _zeroPhaseDesign = SosFilter.Cascade(
            FilterDesign.ButterworthHighPass(2, 0.5, 360.0),
            FilterDesign.ButterworthLowPass(4, 40.0, 360.0));
        _to250 = new RationalResampler(360.0, 250.0);
        _to360 = new RationalResampler(128.0, 360.0);
        _resampled = new float[Math.Max(_to250.MaxOutputLength(Samples), _to360.MaxOutputLength(Samples))];
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "EcgFilterChain 360 Hz, block")]
    public float EcgChainBlock()
    {
        _chain.Reset();
        _chain.Process(_ecg360, _output);
        return _output[^1];
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "EcgFilterChain 360 Hz, per sample")]
    public float EcgChainPerSample()
    {
        _chain.Reset();
        float last = 0f;
        var input = _ecg360;
        for (int i = 0; i < input.Length; i++)
        {
            last = _chain.Process(input[i]);
        }

        return last;
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "ZeroPhase HP0.5+LP40 360 Hz")]
    public float ZeroPhaseFilter()
    {
        ZeroPhase.Filter(_zeroPhaseDesign, _ecg360, _output);
        return _output[^1];
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "Resampler 360->250 Hz")]
    public int Resample360To250()
    {
        _to250.Reset();
        return _to250.Process(_ecg360, _resampled);
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "Resampler 128->360 Hz")]
    public int Resample128To360()
    {
        _to360.Reset();
        return _to360.Process(_ecg128, _resampled);
    }

    /// <summary>A crude ECG-like test signal: narrow beats at 72 bpm, baseline wander, mains hum and noise.</summary>
    private static float[] Synthetic(double fs)
    {
        var rng = new Random(42);
        var x = new float[Samples];
        for (int i = 0; i < x.Length; i++)
        {
            double t = i / fs;
            double phase = (t * 1.2) % 1.0;
            double beat = Math.Exp(-Math.Pow((phase - 0.3) / 0.01, 2));
            x[i] = (float)(beat + (0.3 * Math.Sin(2 * Math.PI * 0.25 * t)) + (0.05 * Math.Sin(2 * Math.PI * 50 * t)) + (0.01 * rng.NextDouble()));
        }

        return x;
    }
}
