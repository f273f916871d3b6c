using System.Collections.Concurrent;
using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Signals.Beats;

namespace HeartTwin.Inference;

/// <summary>
/// Answers <see cref="ClassifyBeatsRequest"/> on the bus: checks that the named feature specification is one the chosen
/// model accepts, classifies the beats in batches of the model's <see cref="BeatClassifier.MaxBatch"/>, and returns the
/// probabilities and each beat's class (after the card's decision rule, with the request's AF flags, and, when the decision depends
/// on the rhythm, also the class each beat would have in AF) with the model's <c>name@version</c>. For a model with morphology
/// families (beat-cnn 2.4.0) it also answers each beat's class were its call N and the families' settings: the families are
/// per-stream state that the caller keeps, so this handler stays stateless and any replica answers alike.
/// </summary>
/// <param name="registry">The loaded models.</param>
public sealed class ClassifyBeatsHandler(ModelRegistry registry) : IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>
{
    /// <summary>The feature specification name of <see cref="BeatWindowSpec.Version1"/>.</summary>
    public const string BeatWindowV1 = "beat-window-v1";

    /// <summary>The feature specification name of <see cref="BeatWindowSpec.Version2"/>.</summary>
    public const string BeatWindowV2 = "beat-window-v2";

    /// <summary>The feature specification name of <see cref="BeatWindowSpec.Version3"/>.</summary>
    public const string BeatWindowV3 = "beat-window-v3";

    // EnsureCompatible compares the card with the spec; the answer cannot change for a loaded model, so it is kept.
    private readonly ConcurrentDictionary<(string ModelId, string Spec), bool> _checked = new();

    /// <summary>The input specification a feature-spec name stands for.</summary>
    /// <param name="featureSpec">A name such as <see cref="BeatWindowV1"/>.</param>
    /// <param name="spec">The specification, when the name is known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryResolveFeatureSpec(string? featureSpec, out BeatInputSpec spec)
    {
        if (BeatWindowSpec.TryFromFeatureSpecName(featureSpec, out var windowSpec))
        {
            spec = BeatInputSpec.From(windowSpec);
            return true;
        }

        spec = null!;
        return false;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The feature spec is unknown, or the arrays do not hold <c>BeatCount</c> beats.</exception>
    /// <exception cref="ModelSpecMismatchException">The model was trained on another input than the feature spec describes.</exception>
    /// <exception cref="ModelNotFoundException">The named model (or the default) is not loaded.</exception>
    public Task<ClassifyBeatsResult> HandleAsync(ClassifyBeatsRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TryResolveFeatureSpec(request.FeatureSpec, out var spec))
        {
            throw new ArgumentException(
                $"Unknown feature spec '{request.FeatureSpec}': this Inference block knows '{BeatWindowV1}', '{BeatWindowV2}' and '{BeatWindowV3}' only, so it cannot tell whether a model accepts these windows.",
                nameof(request));
        }

        var model = string.IsNullOrEmpty(request.Model) ? registry.Default : registry.Get(request.Model);
        if (!_checked.ContainsKey((model.Id, request.FeatureSpec)))
        {
            model.EnsureCompatible(spec);
            _checked.TryAdd((model.Id, request.FeatureSpec), true);
        }

        int n = request.BeatCount;
        if (n < 0 || request.Windows is null || request.RrFeatures is null
            || request.Windows.Length != (long)n * model.BeatLength || request.RrFeatures.Length != (long)n * model.RrFeatureCount)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The request declares {n} beats but holds {request.Windows?.Length ?? 0} window floats and {request.RrFeatures?.Length ?? 0} RR floats; model {model.Id} needs {model.BeatLength} and {model.RrFeatureCount} per beat."),
                nameof(request));
        }

        if (request.InAf is { } inAf && inAf.Length != n)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The request declares {n} beats but holds {inAf.Length} AF flags; send one per beat, or none."), nameof(request));
        }

        var probabilities = new float[n * model.ClassCount];
        for (int start = 0; start < n; start += model.MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = Math.Min(model.MaxBatch, n - start);
            model.Classify(
                request.Windows.AsSpan(start * model.BeatLength, b * model.BeatLength),
                request.RrFeatures.AsSpan(start * model.RrFeatureCount, b * model.RrFeatureCount),
                b,
                probabilities.AsSpan(start * model.ClassCount, b * model.ClassCount));
        }

        var classes = new int[n];
        int[]? classesInAf = null;
        bool[]? allInAf = null;
        if (model.DecisionUsesRhythm)
        {
            model.Decide(probabilities, request.RrFeatures, request.InAf ?? new bool[n], n, classes);
            classesInAf = new int[n];
            allInAf = new bool[n];
            Array.Fill(allInAf, true);
            model.Decide(probabilities, request.RrFeatures, allInAf, n, classesInAf);
        }
        else
        {
            model.Decide(probabilities, request.RrFeatures, request.InAf, n, classes);
        }

        // A model with morphology families: the families are state per stream, which the caller keeps (the Agent, partitioned
        // by patient, votes each beat as it folds it, with the stream's AF state at that beat). This block stays stateless; it
        // answers what the caller needs to finish the decision: each beat's class were its call N, outside AF and in AF.
        int[]? ifNormal = null, ifNormalInAf = null;
        BeatFamilySettings? families = null;
        if (model.FamilyRule is { } rule)
        {
            ifNormal = new int[n];
            model.DecideAsNormal(probabilities, request.RrFeatures, request.InAf ?? new bool[n], n, ifNormal);
            ifNormalInAf = new int[n];
            model.DecideAsNormal(probabilities, request.RrFeatures, allInAf ?? [.. Enumerable.Repeat(true, n)], n, ifNormalInAf);
            families = new BeatFamilySettings(rule.Channel, model.WindowSamples, rule.MinCorrelation, rule.Templates, rule.MinBeats, rule.Majority);
        }

        var ectopy = new bool[n];
        model.FlagVentricularEctopy(probabilities, request.RrFeatures, n, ectopy);
        return Task.FromResult(new ClassifyBeatsResult(model.Id, model.Labels, probabilities, classes, classesInAf, ectopy,
            ifNormal, ifNormalInAf, families, model.Card.Decision?.VentricularInAf?.MinProbability));
    }
}
