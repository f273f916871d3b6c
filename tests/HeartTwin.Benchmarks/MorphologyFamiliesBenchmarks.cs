using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Benchmarks;

/// <summary>
/// The morphology families' vote per beat (beat-cnn 2.4.0's decision), on the beat windows of MIT-BIH 208 (normal beats and
/// many PVCs, so most of the 16 families fill) and of 119, with every beat called N. Mean reads as ns per beat.
/// </summary>
[MemoryDiagnoser]
public class MorphologyFamiliesBenchmarks
{
    private static readonly BeatFamilyRule Rule = new(0, 0.9, 16, 8, 2.0 / 3);
    private float[][] _windows = [];
    private MorphologyFamilies _families = null!;

    /// <summary>The record whose windows are voted.</summary>
    [Params("119", "208")]
    public string Record { get; set; } = "119";

    [GlobalSetup]
    public void Setup()
    {
        var record = WfdbRecord.Read(BenchmarkData.MitDb, Record);
        var leads = Enumerable.Range(0, record.SignalCount).Select(record.Physical).ToList();
        var beats = QrsDetector.Detect(leads, record.SamplingFrequencyHz);
        _windows = [.. BeatFeatureExtractor.ExtractAll(leads[0], record.SamplingFrequencyHz, beats, BeatWindowSpec.Version2)
            .Select(f => f.Window.AsSpan(0, 128).ToArray())];
        _families = new MorphologyFamilies(Rule, 128);
        Console.WriteLine($"// {Record}: {_windows.Length} beats");
    }

    [Benchmark(OperationsPerInvoke = 1000, Description = "MorphologyFamilies.Vote, per beat")]
    public int Vote()
    {
        int ventricular = 0;
        for (int i = 0; i < 1000; i++)
        {
            // Stream order, wrapping round the record: the families stay as a long stream keeps them.
            ventricular += _families.Vote(_windows[i % _windows.Length], false) == FamilyVerdict.Ventricular ? 1 : 0;
        }

        return ventricular;
    }
}
