using BenchmarkDotNet.Attributes;
using HeartTwin.Inference;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Beat classification throughput on one intra-op thread, through the span API, at batches of 1, 64 and 512.
/// Each invocation classifies 512 beats (512 / Batch calls), and OperationsPerInvoke is 512, so Mean reads as
/// ns per beat: beats/s = 1e9 / Mean. The model is models/beat-cnn.json when the repository has it, else the
/// tests' tiny fixture; HEARTTWIN_BEAT_CARD overrides both.
/// </summary>
[MemoryDiagnoser]
public class BeatClassifierBenchmarks
{
    private const int Beats = 512;

    private BeatClassifier _model = null!;
    private float[] _beats = [];
    private float[] _rr = [];
    private float[] _output = [];

    /// <summary>Beats per call.</summary>
    [Params(1, 64, 512)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var card = LocateCard();
        _model = BeatClassifier.Load(card, new BeatClassifierOptions { IntraOpThreads = 1, MaxBatch = Beats });
        Console.WriteLine($"// Beat model: {_model.Id} from {card}");
        var random = new Random(20261123);
        _beats = new float[Beats * _model.BeatLength];
        _rr = new float[Beats * _model.RrFeatureCount];
        _output = new float[Beats * _model.ClassCount];
        for (int i = 0; i < _beats.Length; i++)
        {
            _beats[i] = (float)(random.NextDouble() * 2 - 1);
        }

        for (int i = 0; i < _rr.Length; i++)
        {
            _rr[i] = (float)(0.5 + random.NextDouble());
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(OperationsPerInvoke = Beats, Description = "BeatClassifier.Classify, 1 intra-op thread")]
    public float Classify()
    {
        int beatLength = _model.BeatLength;
        int rrLength = _model.RrFeatureCount;
        int classes = _model.ClassCount;
        for (int start = 0; start < Beats; start += Batch)
        {
            _model.Classify(
                _beats.AsSpan(start * beatLength, Batch * beatLength),
                _rr.AsSpan(start * rrLength, Batch * rrLength),
                Batch,
                _output.AsSpan(start * classes, Batch * classes));
        }

        return _output[^1];
    }

    private static string LocateCard()
    {
        var env = Environment.GetEnvironmentVariable("HEARTTWIN_BEAT_CARD");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HeartTwin.slnx")))
            {
                var shipped = Path.Combine(dir.FullName, "models", "beat-cnn.json");
                return File.Exists(shipped)
                    ? shipped
                    : Path.Combine(dir.FullName, "tests", "HeartTwin.Inference.Tests", "Fixtures", "tiny-beat.json");
            }
        }

        throw new InvalidOperationException("The repository root (HeartTwin.slnx) was not found; set HEARTTWIN_BEAT_CARD to a model card.");
    }
}
