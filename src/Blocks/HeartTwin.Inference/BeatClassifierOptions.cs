namespace HeartTwin.Inference;

/// <summary>How a <see cref="BeatClassifier"/> runs its model.</summary>
public sealed class BeatClassifierOptions
{
    /// <summary>ONNX Runtime's intra-op threads for one call (1: the calling thread only, the best for many concurrent callers).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>The most beats that the list overload of <see cref="BeatClassifier.Classify(IReadOnlyList{BeatInput})"/> sends in one call.</summary>
    public int MaxBatch { get; init; } = 512;

    /// <summary>Whether loading runs the card's test vectors and refuses a model whose outputs differ by more than <see cref="TestVectorTolerance"/>.</summary>
    public bool VerifyTestVectors { get; init; } = true;

    /// <summary>The largest absolute difference allowed between a test vector's expected and computed probabilities.</summary>
    public float TestVectorTolerance { get; init; } = 1e-4f;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(IntraOpThreads, 1, nameof(IntraOpThreads));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatch, 1, nameof(MaxBatch));
        if (!(TestVectorTolerance >= 0f) || float.IsInfinity(TestVectorTolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(TestVectorTolerance), TestVectorTolerance, "The tolerance must be a finite non-negative number.");
        }
    }
}
