using HeartTwin.Inference;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>A record's detected beats with the class a model gave each, and the probabilities behind it.</summary>
internal sealed record ClassifiedRecord(string Record, double SampleRateHz, long Length, long[] Beats, AamiClass[] Classes, float[] Probabilities, int ClassCount);

/// <summary>A record's detections with the beat features of each, from the rhythm lead.</summary>
internal sealed record RecordBeatFeatures(string Record, string Lead, double SampleRateHz, long Length, long[] Detections, List<BeatFeatures> Features);

/// <summary>
/// What the twin does to a recording, offline: detect beats on every ECG lead, cut their windows from the rhythm lead (MLII where there is one)
/// (the same extractor that made the training set), and classify them in batches.
/// </summary>
internal static class BeatPipeline
{
    /// <summary>The models folder: <c>models</c> in the working folder, else the nearest one above the program.</summary>
    public static string DefaultModelsDirectory()
    {
        if (Directory.Exists("models"))
        {
            return Path.GetFullPath("models");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models");
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "*.json").Any())
            {
                return candidate;
            }
        }

        throw new UsageException("no models folder found; pass --model models/<name>.onnx.");
    }

    /// <summary>
    /// Loads the model named by <paramref name="modelPath"/> (its .onnx or its card), or every model of the models folder.
    /// The registry owns the models; its <see cref="ModelRegistry.Default"/> is the one to use, checked against the spec
    /// version its card names (<see cref="SpecFor"/>), which is what <see cref="Run"/> cuts for it.
    /// </summary>
    public static ModelRegistry LoadModels(string? modelPath)
    {
        var registry = new ModelRegistry();
        try
        {
            if (modelPath is null)
            {
                var dir = DefaultModelsDirectory();
                if (registry.LoadDirectory(dir).Count == 0)
                {
                    throw new UsageException($"no beat model in {dir}; pass --model models/<name>.onnx.");
                }
            }
            else
            {
                registry.Register(Path.ChangeExtension(modelPath, ".json"));
            }

            registry.Default.EnsureCompatible(BeatInputSpec.From(SpecFor(registry.Default)));
            return registry;
        }
        catch
        {
            registry.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a record as the twin reads a stream: detect on every ECG lead, then cut each detection's window and RR features
    /// from the rhythm lead. The dataset exporter and the classifier both start here, so training and serving read beats alike.
    /// </summary>
    public static RecordBeatFeatures Extract(RecordReader reader, string name, BeatWindowSpec spec)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var (header, leads, fs, length) = reader.ReadSignals(name);
        var rhythmLead = EcgLeads.RhythmLead(header);
        var detections = QrsDetector.Detect(leads, fs);
        var features = BeatFeatureExtractor.ExtractAll(leads[rhythmLead], fs, detections, spec);
        var leadName = header.Signals[EcgLeads.Select(header)[rhythmLead]].Description;
        return new RecordBeatFeatures(name, leadName, fs, length, detections, features);
    }

    /// <summary>The beat window spec a model was trained on, by its card's <c>spec_version</c>.</summary>
    /// <exception cref="UsageException">This build knows no spec of that version.</exception>
    public static BeatWindowSpec SpecFor(BeatClassifier model)
    {
        var version = model.Card.Input.SpecVersion;
        try
        {
            return BeatWindowSpec.FromVersion(version);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new UsageException($"model {model.Id} was trained on beat window spec version {version}; this build cuts versions 1, 2 and 3 only.", e);
        }
    }

    public static ClassifiedRecord Run(RecordReader reader, string name, BeatClassifier model)
    {
        var (_, _, fs, length, detections, features) = Extract(reader, name, SpecFor(model));
        var n = features.Count;
        var classes = model.ClassCount;
        var (p, rr, samples) = Classify(model, features);

        // The rhythm context of the model's decision: the AF detector over the same detections, with the beats the network
        // calls V evened out, as the twin runs it.
        var inAf = model.DecisionUsesRhythm ? AfFlags(detections, fs, samples, Ventricular(model, p, rr, samples, detections)) : [];
        var decided = new int[n];
        if (model.NewFamilies() is { } families)
        {
            // The record is one stream: its beats vote in their morphology families in order, as the twin's do.
            model.Decide(p, rr, inAf, n, decided, Windows(features, model.BeatLength), families);
        }
        else
        {
            model.Decide(p, rr, inAf, n, decided);
        }
        var labels = model.Labels.Select(ParseLabel).ToArray();
        var predicted = new AamiClass[n];
        for (var i = 0; i < n; i++)
        {
            predicted[i] = labels[decided[i]];
        }

        return new ClassifiedRecord(name, fs, length, samples, predicted, p, classes);
    }

    private static float[] Windows(List<BeatFeatures> features, int beatLength)
    {
        var x = new float[features.Count * beatLength];
        for (var i = 0; i < features.Count; i++)
        {
            features[i].Window.AsSpan().CopyTo(x.AsSpan(i * beatLength, beatLength));
        }

        return x;
    }

    /// <summary>The network's probabilities for each beat, with the RR features and sample index of each.</summary>
    public static (float[] Probabilities, float[] Rr, long[] Samples) Classify(BeatClassifier model, List<BeatFeatures> features)
    {
        var n = features.Count;
        var beatLength = model.BeatLength;
        var rrLength = model.RrFeatureCount;
        var classes = model.ClassCount;
        var x = new float[n * beatLength];
        var rr = new float[n * rrLength];
        var p = new float[n * classes];
        var samples = new long[n];
        for (var i = 0; i < n; i++)
        {
            features[i].Window.CopyTo(x.AsSpan(i * beatLength, beatLength));
            features[i].Rr.CopyTo(rr.AsSpan(i * rrLength, rrLength));
            samples[i] = features[i].SampleIndex;
        }

        for (var start = 0; start < n; start += model.MaxBatch)
        {
            var b = Math.Min(model.MaxBatch, n - start);
            model.Classify(x.AsSpan(start * beatLength, b * beatLength), rr.AsSpan(start * rrLength, b * rrLength), b, p.AsSpan(start * classes, b * classes));
        }

        return (p, rr, samples);
    }

    /// <summary>
    /// Per detection, whether the network calls it premature ventricular ectopy (<see cref="BeatClassifier.FlagVentricularEctopy"/>),
    /// which the AF detector evens out. Detections without a window are not.
    /// </summary>
    public static bool[] Ventricular(BeatClassifier model, float[] probabilities, float[] rr, long[] samples, long[] detections)
    {
        var byBeat = new bool[samples.Length];
        model.FlagVentricularEctopy(probabilities, rr, samples.Length, byBeat);
        var flags = new bool[detections.Length];
        var d = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            d = Array.BinarySearch(detections, d, detections.Length - d, samples[i]);
            if (d < 0)
            {
                d = ~d;
                continue;
            }

            flags[d] = byBeat[i];
        }

        return flags;
    }

    /// <summary>Whether each beat (by sample index, a subset of the detections in order) lies in an AF episode.</summary>
    /// <param name="detections">Every detection, in order: the AF detector's beats.</param>
    /// <param name="fs">Their sampling rate, in Hz.</param>
    /// <param name="beats">The beats to flag.</param>
    /// <param name="ventricular">Per detection, whether it is ventricular (evened out before the RR intervals are judged); empty for none.</param>
    public static bool[] AfFlags(long[] detections, double fs, long[] beats, bool[]? ventricular = null)
    {
        var analysis = AfDetector.Analyze(detections, fs, ventricular ?? []);
        var flags = new bool[beats.Length];
        var d = 0;
        for (var i = 0; i < beats.Length; i++)
        {
            while (d < detections.Length && detections[d] < beats[i])
            {
                d++;
            }

            flags[i] = d < detections.Length && detections[d] == beats[i] && analysis.Beats[d].IsAf;
        }

        return flags;
    }

    private static AamiClass ParseLabel(string label) =>
        Enum.TryParse<AamiClass>(label, ignoreCase: false, out var c) && Enum.IsDefined(c)
            ? c
            : throw new UsageException($"the model's label '{label}' is not an AAMI class (N, S, V, F, Q).");
}
