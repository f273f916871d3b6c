using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Speed of the QRS detector including its band-pass filtering, on a whole MIT-BIH record (650,000 frames).
/// Each operation is one sample of one lead, so the figure compares with single-lead detectors such as gqrs.
/// </summary>
[MemoryDiagnoser]
public class QrsDetectorBenchmarks
{
    private const int Frames = 650_000;
    private float[] _interleaved = [];
    private float[] _lead0 = [];
    private readonly List<long> _detections = new(4000);

    [GlobalSetup]
    public void Setup()
    {
        var record = WfdbRecord.Read(BenchmarkData.MitDb, "208");
        var leads = EcgLeads.ReadMillivolts(record);
        _lead0 = leads[0];
        _interleaved = new float[Frames * 2];
        for (var i = 0; i < Frames; i++)
        {
            _interleaved[2 * i] = leads[0][i];
            _interleaved[(2 * i) + 1] = leads[1][i];
        }
    }

    [Benchmark(OperationsPerInvoke = Frames * 2, Description = "Detector, 2 leads, per lead-sample")]
    public int TwoLeads()
    {
        _detections.Clear();
        var detector = new QrsDetector(2, 360);
        detector.Process(_interleaved, _detections);
        return _detections.Count;
    }

    [Benchmark(OperationsPerInvoke = Frames, Description = "Detector, 1 lead, per sample")]
    public int OneLead()
    {
        _detections.Clear();
        var detector = new QrsDetector(1, 360);
        detector.Process(_lead0, _detections);
        return _detections.Count;
    }
}

internal static class BenchmarkData
{
    public static string MitDb { get; } = Locate();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "mitdb");
            if (File.Exists(Path.Combine(candidate, "RECORDS")))
            {
                return candidate;
            }
        }

        var fromEnv = Environment.GetEnvironmentVariable("HEARTTWIN_MITDB");
        return fromEnv ?? throw new InvalidOperationException("shared/data/mitdb not found; set HEARTTWIN_MITDB.");
    }
}
