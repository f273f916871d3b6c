using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Speed of the beat feature extractor (filter, resampling to 180 Hz, windows, normalisation, template, RR) on the first
/// lead of record 208 (650,000 samples at 360 Hz, 2,955 reference beats, a third of them ventricular or fusion).
/// OperationsPerInvoke is the sample count, so Mean reads as ns per input sample; beats/s = 2,955 / (Mean × 650,000).
/// </summary>
[MemoryDiagnoser]
public class BeatFeatureBenchmarks
{
    private const int Samples = 650_000;
    private float[] _lead = [];
    private long[] _beats = [];
    private readonly List<BeatFeatures> _completed = new(4000);
    private BeatWindowSpec _spec = BeatWindowSpec.Version1;

    /// <summary>The spec version: 2 adds the previous-beat and long-template channels and the long RR baseline.</summary>
    [Params(1, 2, 3)]
    public int SpecVersion { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var record = WfdbRecord.Read(BenchmarkData.MitDb, "208");
        _lead = EcgLeads.ReadMillivolts(record)[0];
        _spec = BeatWindowSpec.FromVersion(SpecVersion);
        _beats = [.. AnnotationFile.Read(BenchmarkData.MitDb, "208", "atr").Where(a => AamiMapping.FromCode(a.Code) is not null).Select(a => a.Sample)];
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "Beat features 360 Hz, whole record with its beats, per sample")]
    public int WholeRecord() => BeatFeatureExtractor.ExtractAll(_lead, 360, _beats, _spec).Count;

    [Benchmark(OperationsPerInvoke = Samples, Description = "Beat features 360 Hz, signal path only (no beats), per sample")]
    public long SignalOnly()
    {
        _completed.Clear();
        var extractor = new BeatFeatureExtractor(_spec, 360);
        extractor.Process(_lead, _completed);
        return extractor.SamplesProcessed;
    }
}
