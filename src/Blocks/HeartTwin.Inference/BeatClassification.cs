namespace HeartTwin.Inference;

/// <summary>One beat for <see cref="BeatClassifier.Classify(IReadOnlyList{BeatInput})"/>.</summary>
/// <param name="Beat">The beat window, channel after channel: channels × window samples (2 × 128 for spec version 1).</param>
/// <param name="Rr">The RR features in the card's order (6 for spec version 1).</param>
public readonly record struct BeatInput(ReadOnlyMemory<float> Beat, ReadOnlyMemory<float> Rr);

/// <summary>
/// A beat's class probabilities with the predicted label, and the model that produced them, so that a stored
/// result says which model made it.
/// </summary>
/// <param name="ModelName">The model's name (the card's <c>name</c>).</param>
/// <param name="ModelVersion">The model's version (the card's <c>version</c>).</param>
/// <param name="Probabilities">The probability of each label, in the card's label order; they sum to 1.</param>
/// <param name="LabelIndex">The index of the most probable label (the first one on a tie).</param>
/// <param name="Label">The most probable label, for example N, S, V, F or Q.</param>
public sealed record BeatClassification(string ModelName, string ModelVersion, IReadOnlyList<float> Probabilities, int LabelIndex, string Label)
{
    /// <summary>The probability of the predicted label.</summary>
    public float Confidence => Probabilities[LabelIndex];

    /// <summary>The model's identity, <c>name@version</c>.</summary>
    public string ModelId => ModelName + "@" + ModelVersion;
}
