using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeartTwin.Inference;

/// <summary>
/// A model card (<c>models/&lt;name&gt;.json</c>): what a model is, what input it expects, how it was trained and the
/// test vectors that its ONNX file must reproduce. The JSON layout is the one in <c>docs/beat-model-contract.md</c>,
/// with snake_case member names. Unknown members are ignored, so that later card versions can add fields.
/// </summary>
public sealed class ModelCard
{
    /// <summary>The task of the beat classifiers: <c>beat-classification</c>.</summary>
    public const string BeatClassificationTask = "beat-classification";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectNullableAnnotations = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = false,
        NumberHandling = JsonNumberHandling.Strict,
        WriteIndented = true,
    };

    /// <summary>The model's name, for example <c>beat-cnn</c>: letters, digits, '.', '_' and '-'.</summary>
    public required string Name { get; init; }

    /// <summary>The model's version, for example <c>1.0.0</c> (no '@' and no white space).</summary>
    public required string Version { get; init; }

    /// <summary>What the model does, for example <see cref="BeatClassificationTask"/>.</summary>
    public required string Task { get; init; }

    /// <summary>The ONNX file's name, beside the card.</summary>
    public required string Onnx { get; init; }

    /// <summary>The SHA-256 of the ONNX file, 64 hexadecimal digits.</summary>
    public required string OnnxSha256 { get; init; }

    /// <summary>The input that the model expects.</summary>
    public required ModelInputSpec Input { get; init; }

    /// <summary>The class labels, in the order of the output probabilities.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>How probabilities become classes (<see cref="ModelDecision"/>); null for the most probable label.</summary>
    public ModelDecision? Decision { get; init; }

    /// <summary>How the model was trained (informative; not checked).</summary>
    public ModelTraining? Training { get; init; }

    /// <summary>The cross-validation results (informative; not checked).</summary>
    public ModelCrossValidation? CrossValidation { get; init; }

    /// <summary>Inputs with the probabilities that the training framework computed for them: the ONNX file must reproduce them.</summary>
    public required IReadOnlyList<ModelTestVector> TestVectors { get; init; }

    /// <summary>The model's identity, <c>name@version</c>, as results and logs name it.</summary>
    [JsonIgnore]
    public string Id => Name + "@" + Version;

    /// <summary>Reads and validates a card file.</summary>
    /// <param name="path">The card's path.</param>
    /// <exception cref="ModelLoadException">The file is missing (<see cref="ModelLoadFailure.CardNotFound"/>) or is not a valid card (<see cref="ModelLoadFailure.CardInvalid"/>).</exception>
    public static ModelCard Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(path, ModelLoadFailure.CardNotFound, "the model card file does not exist.", e);
        }

        return Parse(json, path);
    }

    /// <summary>Parses and validates a card from its JSON text.</summary>
    /// <param name="json">The card's JSON text.</param>
    /// <param name="source">The path or name reported in errors.</param>
    /// <exception cref="ModelLoadException">The text is not a valid card (<see cref="ModelLoadFailure.CardInvalid"/>).</exception>
    public static ModelCard Parse(string json, string source = "<model card>")
    {
        ArgumentNullException.ThrowIfNull(json);
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            var where = e.Path is null or "$" ? "" : $" at {e.Path}";
            throw new ModelLoadException(source, ModelLoadFailure.CardInvalid, $"the card is not valid{where}: {e.Message}", e);
        }

        if (card is null)
        {
            throw new ModelLoadException(source, ModelLoadFailure.CardInvalid, "the card is JSON null, not an object.");
        }

        var errors = card.Validate();
        if (errors.Count > 0)
        {
            throw new ModelLoadException(source, ModelLoadFailure.CardInvalid, string.Join(" ", errors));
        }

        return card;
    }

    /// <summary>Writes the card as indented snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Checks the values that the JSON types alone do not: non-empty names, ranges, and the test vectors' shapes.</summary>
    /// <returns>One sentence per problem; empty when the card is valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!IsIdentifier(Name))
        {
            errors.Add($"name '{Name}' must be non-empty and use only letters, digits, '.', '_' and '-'.");
        }

        if (string.IsNullOrWhiteSpace(Version) || Version.Contains('@', StringComparison.Ordinal) || Version.Any(char.IsWhiteSpace))
        {
            errors.Add($"version '{Version}' must be non-empty, without '@' or white space.");
        }

        if (string.IsNullOrWhiteSpace(Task))
        {
            errors.Add("task must be non-empty.");
        }

        if (string.IsNullOrWhiteSpace(Onnx) || Path.GetFileName(Onnx) != Onnx || Onnx is "." or "..")
        {
            errors.Add($"onnx '{Onnx}' must be a file name beside the card, without directories.");
        }

        if (OnnxSha256 is null || OnnxSha256.Length != 64 || !OnnxSha256.All(char.IsAsciiHexDigit))
        {
            errors.Add("onnx_sha256 must be 64 hexadecimal digits.");
        }

        if (Labels is null || Labels.Count == 0)
        {
            errors.Add("labels must list at least one class.");
        }
        else if (Labels.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("labels must not contain empty names.");
        }
        else if (Labels.Distinct(StringComparer.Ordinal).Count() != Labels.Count)
        {
            errors.Add("labels must be distinct.");
        }

        if (Input is null)
        {
            errors.Add("input is required.");
        }
        else
        {
            Input.Validate(errors);
        }

        Decision?.Validate(this, errors);
        ValidateTestVectors(errors);
        return errors;
    }

    internal static bool IsIdentifier(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private void ValidateTestVectors(List<string> errors)
    {
        if (TestVectors is null || TestVectors.Count == 0)
        {
            errors.Add("test_vectors must hold at least one vector.");
            return;
        }

        if (Input is null || Labels is null)
        {
            return;
        }

        for (int i = 0; i < TestVectors.Count; i++)
        {
            var v = TestVectors[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"test_vectors[{i}]");
            if (v is null)
            {
                errors.Add($"{at} is null.");
                continue;
            }

            if (v.Beat is null || v.Beat.Length != Input.Channels || v.Beat.Any(row => row is null || row.Length != Input.WindowSamples))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.beat must be {Input.Channels} rows of {Input.WindowSamples} samples."));
            }
            else if (v.Beat.Any(row => row.Any(x => !float.IsFinite(x))))
            {
                errors.Add($"{at}.beat must be finite.");
            }

            if (v.Rr is null || Input.RrFeatures is null || v.Rr.Length != Input.RrFeatures.Count)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.rr must hold {Input.RrFeatures?.Count ?? 0} values, one per rr_features name."));
            }
            else if (v.Rr.Any(x => !float.IsFinite(x)))
            {
                errors.Add($"{at}.rr must be finite.");
            }

            if (v.Probabilities is null || v.Probabilities.Length != Labels.Count)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.probabilities must hold {Labels.Count} values, one per label."));
            }
            else if (v.Probabilities.Any(x => !float.IsFinite(x)))
            {
                errors.Add($"{at}.probabilities must be finite.");
            }
        }
    }
}

/// <summary>The input that a model expects (the card's <c>input</c> object).</summary>
public sealed class ModelInputSpec
{
    /// <summary>The beat window specification's version (1 is <c>BeatWindowSpec.Version1</c> of the contract).</summary>
    public required int SpecVersion { get; init; }

    /// <summary>The sample rate of the beat windows, in Hz (180 for spec version 1).</summary>
    public required double SampleRateHz { get; init; }

    /// <summary>The window length, in samples (128 for spec version 1).</summary>
    public required int WindowSamples { get; init; }

    /// <summary>The window's first sample relative to the fiducial, in samples (-54 for spec version 1: the R wave is at index 54).</summary>
    public required int WindowOffsetSamples { get; init; }

    /// <summary>The number of channels of a beat window (2 for spec version 1).</summary>
    public required int Channels { get; init; }

    /// <summary>The leads the windows come from, in words (informative).</summary>
    public IReadOnlyList<string>? Leads { get; init; }

    /// <summary>The RR features' names, in the order of the <c>rr</c> tensor.</summary>
    public required IReadOnlyList<string> RrFeatures { get; init; }

    /// <summary>How the windows are normalised, in words (informative).</summary>
    public string? Normalisation { get; init; }

    /// <summary>The filter applied before windowing (informative).</summary>
    public ModelFilterSpec? Filter { get; init; }

    /// <summary>The ONNX tensor names; when absent, the contract's <c>beat</c>, <c>rr</c> and <c>probabilities</c>.</summary>
    public ModelTensorNames? Tensors { get; init; }

    /// <summary>The tensor names in force: <see cref="Tensors"/>, or the contract's defaults.</summary>
    [JsonIgnore]
    public ModelTensorNames TensorNames => Tensors ?? ModelTensorNames.Default;

    /// <summary>The floats in one beat window: <see cref="Channels"/> × <see cref="WindowSamples"/>.</summary>
    [JsonIgnore]
    public int BeatLength => Channels * WindowSamples;

    /// <summary>Lists how a caller's input differs from this one.</summary>
    /// <param name="spec">What the caller produces.</param>
    /// <returns>One sentence per difference; empty when they agree.</returns>
    public IReadOnlyList<string> Differences(BeatInputSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var d = new List<string>();
        if (spec.SpecVersion != SpecVersion)
        {
            d.Add(Invariant($"spec version {spec.SpecVersion} differs from the model's {SpecVersion}."));
        }

        if (Math.Abs(spec.SampleRateHz - SampleRateHz) > 1e-9 * Math.Max(1.0, SampleRateHz))
        {
            d.Add(Invariant($"sample rate {spec.SampleRateHz} Hz differs from the model's {SampleRateHz} Hz."));
        }

        if (spec.WindowSamples != WindowSamples)
        {
            d.Add(Invariant($"window of {spec.WindowSamples} samples differs from the model's {WindowSamples}."));
        }

        if (spec.WindowOffsetSamples != WindowOffsetSamples)
        {
            d.Add(Invariant($"window offset {spec.WindowOffsetSamples} samples differs from the model's {WindowOffsetSamples}."));
        }

        if (spec.Channels != Channels)
        {
            d.Add(Invariant($"{spec.Channels} channels differ from the model's {Channels}."));
        }

        if (spec.RrFeatures is not null && !spec.RrFeatures.SequenceEqual(RrFeatures, StringComparer.Ordinal))
        {
            d.Add($"RR features [{string.Join(", ", spec.RrFeatures)}] differ from the model's [{string.Join(", ", RrFeatures)}].");
        }

        return d;
    }

    internal void Validate(List<string> errors)
    {
        if (SpecVersion < 1)
        {
            errors.Add(Invariant($"input.spec_version {SpecVersion} must be 1 or more."));
        }

        if (!double.IsFinite(SampleRateHz) || SampleRateHz <= 0)
        {
            errors.Add(Invariant($"input.sample_rate_hz {SampleRateHz} must be positive."));
        }

        if (WindowSamples < 1)
        {
            errors.Add(Invariant($"input.window_samples {WindowSamples} must be 1 or more."));
        }
        else if (WindowOffsetSamples > 0 || WindowOffsetSamples <= -WindowSamples)
        {
            errors.Add(Invariant($"input.window_offset_samples {WindowOffsetSamples} must put the fiducial inside the window (between {1 - WindowSamples} and 0)."));
        }

        if (Channels < 1)
        {
            errors.Add(Invariant($"input.channels {Channels} must be 1 or more."));
        }

        if (RrFeatures is null || RrFeatures.Count == 0)
        {
            errors.Add("input.rr_features must name at least one feature.");
        }
        else if (RrFeatures.Any(string.IsNullOrWhiteSpace) || RrFeatures.Distinct(StringComparer.Ordinal).Count() != RrFeatures.Count)
        {
            errors.Add("input.rr_features must be distinct non-empty names.");
        }

        var t = TensorNames;
        if (string.IsNullOrWhiteSpace(t.Beat) || string.IsNullOrWhiteSpace(t.Rr) || string.IsNullOrWhiteSpace(t.Output)
            || t.Beat == t.Rr || t.Beat == t.Output || t.Rr == t.Output)
        {
            errors.Add("input.tensors must name three distinct non-empty tensors (beat, rr, output).");
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The filter applied before windowing (the card's <c>input.filter</c>; informative).</summary>
public sealed class ModelFilterSpec
{
    /// <summary>The baseline high-pass corner, in Hz.</summary>
    public double? BaselineHz { get; init; }

    /// <summary>The low-pass corner, in Hz.</summary>
    public double? LowpassHz { get; init; }

    /// <summary>The mains notch, in Hz, or null for none.</summary>
    [JsonPropertyName("mains_notch")]
    public double? MainsNotchHz { get; init; }
}

/// <summary>The ONNX tensor names (the card's <c>input.tensors</c>).</summary>
public sealed class ModelTensorNames
{
    /// <summary>The contract's names: <c>beat</c>, <c>rr</c> and <c>probabilities</c>.</summary>
    public static ModelTensorNames Default { get; } = new();

    /// <summary>The beat windows' input, float32 [batch, channels, window].</summary>
    public string Beat { get; init; } = "beat";

    /// <summary>The RR features' input, float32 [batch, features].</summary>
    public string Rr { get; init; } = "rr";

    /// <summary>The output, float32 [batch, labels], softmax probabilities.</summary>
    public string Output { get; init; } = "probabilities";
}

/// <summary>How a model was trained (the card's <c>training</c>; informative).</summary>
public sealed class ModelTraining
{
    /// <summary>The records trained on.</summary>
    public IReadOnlyList<string>? Records { get; init; }

    /// <summary>The SHA-256 of the dataset file.</summary>
    public string? DatasetSha256 { get; init; }

    /// <summary>The command that trained the model.</summary>
    public string? Recipe { get; init; }

    /// <summary>The random seed.</summary>
    public long? Seed { get; init; }

    /// <summary>The PyTorch version.</summary>
    public string? Torch { get; init; }

    /// <summary>The number of epochs.</summary>
    public int? Epochs { get; init; }
}

/// <summary>Cross-validation results (the card's <c>cross_validation</c>; informative).</summary>
public sealed class ModelCrossValidation
{
    /// <summary>The scheme in words, for example patient-wise k-fold on DS1.</summary>
    public string? Scheme { get; init; }

    /// <summary>The number of folds.</summary>
    public int? Folds { get; init; }

    /// <summary>Per-class counts and rates, by label.</summary>
    public IReadOnlyDictionary<string, ModelClassMetrics>? Classes { get; init; }

    /// <summary>The confusion matrix.</summary>
    public ModelConfusion? Confusion { get; init; }

    /// <summary>How far a re-run's metrics may differ, in percentage points.</summary>
    public double? ReproducibilityTolerancePct { get; init; }

    /// <summary>The same out-of-fold predictions after the card's <see cref="ModelCard.Decision"/> (with the AF detector's flags); null without one.</summary>
    public ModelCrossValidation? AfterDecision { get; init; }
}

/// <summary>One class's cross-validation counts and rates.</summary>
public sealed class ModelClassMetrics
{
    /// <summary>True positives.</summary>
    public long? Tp { get; init; }

    /// <summary>False negatives.</summary>
    public long? Fn { get; init; }

    /// <summary>False positives.</summary>
    public long? Fp { get; init; }

    /// <summary>Sensitivity, tp / (tp + fn).</summary>
    public double? Se { get; init; }

    /// <summary>Positive predictive value, tp / (tp + fp).</summary>
    public double? Ppv { get; init; }
}

/// <summary>A confusion matrix: rows are the reference labels, columns the predicted ones.</summary>
public sealed class ModelConfusion
{
    /// <summary>The labels of the rows and columns.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>The counts, [reference][predicted].</summary>
    public long[][]? Matrix { get; init; }
}

/// <summary>One test vector: an input and the probabilities that the training framework computed for it.</summary>
public sealed class ModelTestVector
{
    /// <summary>The beat window, [channels][window samples].</summary>
    public required float[][] Beat { get; init; }

    /// <summary>The RR features, in the card's order.</summary>
    public required float[] Rr { get; init; }

    /// <summary>The expected probabilities, one per label.</summary>
    public required float[] Probabilities { get; init; }
}
