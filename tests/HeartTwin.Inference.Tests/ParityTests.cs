using System.Text.Json;

namespace HeartTwin.Inference.Tests;

/// <summary>
/// C# (ONNX Runtime) against PyTorch: every beat card's test vectors, which the training framework computed, are
/// reproduced within 1e-4. Runs on the fixture and on every beat-classification card in the repository's models/.
/// </summary>
public sealed class ParityTests
{
    private const float Tolerance = 1e-4f;

    /// <summary>The fixture card and every beat-classification card in models/, as paths relative to the repository root where they can be.</summary>
    public static TheoryData<string> BeatCards()
    {
        var data = new TheoryData<string> { TestFiles.TinyCard };
        foreach (var card in ModelsFolderCards().Where(c => c.Task == ModelCard.BeatClassificationTask))
        {
            data.Add(Path.GetRelativePath(TestFiles.RepositoryRoot, card.Path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BeatCards))]
    public void Outputs_on_the_card_test_vectors_match_the_training_framework(string card)
    {
        var path = Path.IsPathRooted(card) ? card : Path.Combine(TestFiles.RepositoryRoot, card);
        using var model = BeatClassifier.Load(path, new BeatClassifierOptions { VerifyTestVectors = false });
        var vectors = model.Card.TestVectors;
        vectors.Count.ShouldBeGreaterThan(0);

        // As one batch, through the span API.
        var beats = new float[vectors.Count * model.BeatLength];
        var rr = new float[vectors.Count * model.RrFeatureCount];
        var output = new float[vectors.Count * model.ClassCount];
        for (int i = 0; i < vectors.Count; i++)
        {
            for (int c = 0; c < model.Channels; c++)
            {
                vectors[i].Beat[c].CopyTo(beats, (i * model.Channels + c) * model.WindowSamples);
            }

            vectors[i].Rr.CopyTo(rr, i * model.RrFeatureCount);
        }

        model.Classify(beats, rr, vectors.Count, output);

        for (int i = 0; i < vectors.Count; i++)
        {
            for (int k = 0; k < model.ClassCount; k++)
            {
                var expected = vectors[i].Probabilities[k];
                var actual = output[i * model.ClassCount + k];
                MathF.Abs(actual - expected).ShouldBeLessThanOrEqualTo(Tolerance, $"{model.Id} vector {i} class {model.Labels[k]}: C# {actual}, PyTorch {expected}");
            }
        }

        // One beat at a time, through the single-beat API.
        for (int i = 0; i < vectors.Count; i++)
        {
            var result = model.Classify(beats.AsSpan(i * model.BeatLength, model.BeatLength), rr.AsSpan(i * model.RrFeatureCount, model.RrFeatureCount));
            for (int k = 0; k < model.ClassCount; k++)
            {
                MathF.Abs(result.Probabilities[k] - vectors[i].Probabilities[k]).ShouldBeLessThanOrEqualTo(Tolerance);
            }
        }

        model.MaxTestVectorError().ShouldBeLessThanOrEqualTo(Tolerance);
    }

    [Fact]
    public void Every_json_file_in_models_is_a_card_with_a_task()
    {
        // Nothing in models/ is passed over silently: a beat card is in the parity theory above,
        // and any other file must at least be a card that names the task whose loader serves it.
        foreach (var card in ModelsFolderCards())
        {
            card.Task.ShouldNotBeNullOrWhiteSpace($"{card.Path} has no task");
        }
    }

    private static IEnumerable<(string Path, string? Task)> ModelsFolderCards()
    {
        var models = TestFiles.ModelsDirectory;
        if (!Directory.Exists(models))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(models, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            string? task = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("task", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()
                : null;
            yield return (path, task);
        }
    }
}
