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
/// on the rhythm, also the class each beat would have in AF) with the model's <c>name@version</c>.
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

    /// <summary>Streams whose morphology families are kept; past it, the half least recently used are forgotten.</summary>
    public const int MaxFamilyStreams = 20_000;

    // EnsureCompatible compares the card with the spec; the answer cannot change for a loaded model, so it is kept.
    private readonly ConcurrentDictionary<(string ModelId, string Spec), bool> _checked = new();

    // Per model and stream, the morphology families of a card that has them (beat-cnn 2.4.0). They live in this process: a
    // restart, or a stream whose batches reach several Inference replicas, learns its families again (8 beats each).
    private readonly ConcurrentDictionary<(string ModelId, string Stream), StreamFamilies> _families = new();

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

        var verdicts = VoteFamilies(model, request, probabilities);
        var classes = new int[n];
        int[]? classesInAf = null;
        if (model.DecisionUsesRhythm)
        {
            model.Decide(probabilities, request.RrFeatures, request.InAf ?? new bool[n], n, classes, verdicts);
            classesInAf = new int[n];
            var allInAf = new bool[n];
            Array.Fill(allInAf, true);
            model.Decide(probabilities, request.RrFeatures, allInAf, n, classesInAf, verdicts);
        }
        else
        {
            model.Decide(probabilities, request.RrFeatures, request.InAf, n, classes, verdicts);
        }

        var ectopy = new bool[n];
        model.FlagVentricularEctopy(probabilities, request.RrFeatures, n, ectopy);
        return Task.FromResult(new ClassifyBeatsResult(model.Id, model.Labels, probabilities, classes, classesInAf, ectopy));
    }
    /// <summary>
    /// Each beat's family verdict, when the model keeps families and the request names each beat's stream: the beats of a
    /// stream are voted in order, under a lock per stream, and a beat not later than its stream's last one is left out.
    /// </summary>
    private FamilyVerdict[] VoteFamilies(BeatClassifier model, ClassifyBeatsRequest request, float[] probabilities)
    {
        int n = request.BeatCount;
        var verdicts = new FamilyVerdict[n];
        if (model.FamilyRule is null || request.Streams is not { } streams)
        {
            return verdicts;
        }

        if (streams.Length != n || (request.BeatTimes is { } times && times.Length != n))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The request declares {n} beats but holds {streams.Length} stream keys and {request.BeatTimes?.Length ?? 0} beat times; send one per beat."), nameof(request));
        }

        if (_families.Count > MaxFamilyStreams)
        {
            foreach (var key in _families.OrderBy(kv => kv.Value.LastUsed).Take(_families.Count / 2).Select(kv => kv.Key).ToList())
            {
                _families.TryRemove(key, out _);
            }
        }

        var states = new StreamFamilies?[n];
        for (int i = 0; i < n; i++)
        {
            if (string.IsNullOrEmpty(streams[i]))
            {
                continue;
            }

            var state = _families.GetOrAdd((model.Id, streams[i]), _ => new StreamFamilies(model.NewFamilies()!));
            states[i] = state;
        }

        // One stream's beats are voted under its lock, in request order; a concurrent request for the same stream waits.
        foreach (var group in Enumerable.Range(0, n).Where(i => states[i] is not null).GroupBy(i => states[i]!))
        {
            var state = group.Key;
            lock (state)
            {
                state.LastUsed = Environment.TickCount64;
                foreach (var i in group)
                {
                    var time = request.BeatTimes?[i];
                    if (time is { } t && state.LastBeat is { } last && t <= last)
                    {
                        continue; // sent again: already counted
                    }

                    model.VoteFamilies(
                        probabilities.AsSpan(i * model.ClassCount, model.ClassCount),
                        request.InAf is { } inAf ? inAf.AsSpan(i, 1) : [],
                        request.Windows.AsSpan(i * model.BeatLength, model.BeatLength),
                        1,
                        _ => state.Families,
                        verdicts.AsSpan(i, 1));
                    state.LastBeat = time ?? state.LastBeat;
                }
            }
        }

        return verdicts;
    }

    private sealed class StreamFamilies(MorphologyFamilies families)
    {
        public MorphologyFamilies Families { get; } = families;

        public DateTimeOffset? LastBeat { get; set; }

        public long LastUsed { get; set; } = Environment.TickCount64;
    }
}
