using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using HeartTwin.Signals.Beats;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace HeartTwin.Inference;

/// <summary>
/// A beat classification model loaded by its card: the ONNX file beside the card, checked against the card's
/// SHA-256 and tensor signature, served by one ONNX Runtime session that any number of threads may call at once.
/// </summary>
/// <remarks>
/// The session runs on the CPU with the memory arena off (with it on, concurrent callers were slower than one) and
/// <see cref="BeatClassifierOptions.IntraOpThreads"/> threads per call. Dispose it only once no call is in flight.
/// </remarks>
public sealed class BeatClassifier : IDisposable
{
    [ThreadStatic]
    private static Scratch? t_scratch;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string[] _labels;
    private readonly PrematureSupraventricularRule? _prematureRule;
    private readonly bool[] _reDecided = []; // by label index: the rule's FromLabels
    private readonly int _pauseFeature = -1;
    private readonly int _prematureFeature = -1;
    private readonly int _normalLabel = -1;
    private readonly int _supraventricularLabel = -1;
    private readonly int _ventricularLabel = -1;
    private readonly int _ectopyLabel;
    private readonly int _ectopyPreRatioFeature;
    private readonly double? _ventricularInAf; // decision.ventricular_in_af.min_probability
    private readonly int _vLabel = -1; // V and N for the rules before the premature rule
    private readonly int _nLabel = -1;
    private int _disposed;

    private BeatClassifier(ModelCard card, string cardPath, string onnxPath, InferenceSession session, BeatClassifierOptions options)
    {
        Card = card;
        CardPath = cardPath;
        OnnxPath = onnxPath;
        _session = session;
        _runOptions = new RunOptions();
        var t = card.Input.TensorNames;
        _inputNames = [t.Beat, t.Rr];
        _outputNames = [t.Output];
        _labels = [.. card.Labels];
        Channels = card.Input.Channels;
        WindowSamples = card.Input.WindowSamples;
        RrFeatureCount = card.Input.RrFeatures.Count;
        MaxBatch = options.MaxBatch;
        IntraOpThreads = options.IntraOpThreads;
        _ectopyLabel = IndexOf(card.Labels, "V");
        _ectopyPreRatioFeature = IndexOf(card.Input.RrFeatures, EctopyRrFeature);
        _vLabel = IndexOf(card.Labels, "V");
        _nLabel = IndexOf(card.Labels, "N");
        _ventricularInAf = card.Decision?.VentricularInAf?.MinProbability;
        FamilyRule = card.Decision?.Families?.ToRule();
        if (card.Decision?.PrematureSupraventricular is { } rule)
        {
            _prematureRule = rule;
            _prematureFeature = IndexOf(card.Input.RrFeatures, rule.RrFeature);
            _normalLabel = IndexOf(card.Labels, "N");
            _supraventricularLabel = IndexOf(card.Labels, "S");
            _ventricularLabel = IndexOf(card.Labels, "V");
            _pauseFeature = rule.EarlyWithPause is { } pause ? IndexOf(card.Input.RrFeatures, pause.RrFeature) : -1;
            _reDecided = new bool[card.Labels.Count];
            foreach (var label in rule.FromLabels)
            {
                _reDecided[IndexOf(card.Labels, label)] = true;
            }
        }
    }

    /// <summary>The model card.</summary>
    public ModelCard Card { get; }

    /// <summary>The card's full path.</summary>
    public string CardPath { get; }

    /// <summary>The ONNX file's full path.</summary>
    public string OnnxPath { get; }

    /// <summary>The model's name.</summary>
    public string Name => Card.Name;

    /// <summary>The model's version.</summary>
    public string Version => Card.Version;

    /// <summary>The model's identity, <c>name@version</c>.</summary>
    public string Id => Card.Id;

    /// <summary>The class labels, in output order.</summary>
    public IReadOnlyList<string> Labels => _labels;

    /// <summary>The channels per beat window.</summary>
    public int Channels { get; }

    /// <summary>The samples per channel of a beat window.</summary>
    public int WindowSamples { get; }

    /// <summary>The floats per beat window: <see cref="Channels"/> × <see cref="WindowSamples"/>.</summary>
    public int BeatLength => Channels * WindowSamples;

    /// <summary>The RR features per beat.</summary>
    public int RrFeatureCount { get; }

    /// <summary>The classes, the probabilities per beat.</summary>
    public int ClassCount => _labels.Length;

    /// <summary>The most beats that the list overload sends to the model in one call.</summary>
    public int MaxBatch { get; }

    /// <summary>ONNX Runtime's intra-op threads per call.</summary>
    public int IntraOpThreads { get; }

    /// <summary>
    /// Loads a model by its card: reads and validates the card, reads the ONNX file that it names beside it, checks its
    /// SHA-256, creates the session, checks the model's inputs and output against the card and, unless turned off,
    /// checks that the model reproduces the card's test vectors.
    /// </summary>
    /// <param name="cardPath">The model card (<c>models/&lt;name&gt;.json</c>).</param>
    /// <param name="options">How to run the model; null for the defaults (1 intra-op thread, batches of 512).</param>
    /// <exception cref="ModelLoadException">The card or the model is missing, invalid, or they disagree; <see cref="ModelLoadException.Failure"/> says which.</exception>
    public static BeatClassifier Load(string cardPath, BeatClassifierOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cardPath);
        options ??= new BeatClassifierOptions();
        options.Validate();

        cardPath = Path.GetFullPath(cardPath);
        var card = ModelCard.Load(cardPath);
        if (card.Task != ModelCard.BeatClassificationTask)
        {
            throw new ModelLoadException(cardPath, ModelLoadFailure.UnsupportedTask,
                $"the card's task is '{card.Task}'; a beat classifier serves '{ModelCard.BeatClassificationTask}'.");
        }

        var onnxPath = Path.Combine(Path.GetDirectoryName(cardPath)!, card.Onnx);
        byte[] onnx;
        try
        {
            onnx = File.ReadAllBytes(onnxPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(onnxPath, ModelLoadFailure.OnnxNotFound, $"the ONNX file named by the card {cardPath} does not exist.", e);
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(onnx));
        if (!sha.Equals(card.OnnxSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(onnxPath, ModelLoadFailure.Sha256Mismatch,
                $"its SHA-256 is {sha} but the card {cardPath} says {card.OnnxSha256.ToLowerInvariant()}: the file is not the one the card describes.");
        }

        InferenceSession session;
        using (var sessionOptions = CreateSessionOptions(options.IntraOpThreads))
        {
            try
            {
                session = new InferenceSession(onnx, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException(onnxPath, ModelLoadFailure.OnnxInvalid, $"ONNX Runtime cannot load it: {e.Message}", e);
            }
        }

        BeatClassifier? classifier = null;
        try
        {
            CheckSignature(session, card, onnxPath);
            classifier = new BeatClassifier(card, cardPath, onnxPath, session, options);
            if (options.VerifyTestVectors)
            {
                classifier.VerifyTestVectors(options.TestVectorTolerance);
            }

            return classifier;
        }
        catch
        {
            if (classifier is null)
            {
                session.Dispose();
            }
            else
            {
                classifier.Dispose();
            }

            throw;
        }
    }

    /// <summary>Throws when a caller's beat input differs from the model's (spec version, sample rate, window, offset, channels, RR features).</summary>
    /// <param name="spec">What the caller produces, for example <see cref="BeatInputSpec.Version1"/>.</param>
    /// <exception cref="ModelSpecMismatchException">They differ; the message lists every difference.</exception>
    public void EnsureCompatible(BeatInputSpec spec)
    {
        var differences = Card.Input.Differences(spec);
        if (differences.Count > 0)
        {
            throw new ModelSpecMismatchException(Id, differences);
        }
    }

    /// <summary>
    /// Classifies a batch of beats. Nothing is copied or allocated beyond ONNX Runtime's own call: the model reads the
    /// caller's buffers and writes the caller's output. Safe to call from several threads at once.
    /// </summary>
    /// <param name="beats">The beat windows, beat after beat, each channel after channel: batch × <see cref="Channels"/> × <see cref="WindowSamples"/> floats.</param>
    /// <param name="rr">The RR features, beat after beat: batch × <see cref="RrFeatureCount"/> floats.</param>
    /// <param name="batch">The number of beats (0 does nothing).</param>
    /// <param name="probabilities">Receives batch × <see cref="ClassCount"/> probabilities, beat after beat, in label order; may be longer.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="batch"/>.</exception>
    /// <exception cref="ObjectDisposedException">The classifier has been disposed.</exception>
    public unsafe void Classify(ReadOnlySpan<float> beats, ReadOnlySpan<float> rr, int batch, Span<float> probabilities)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        long beatFloats = (long)batch * BeatLength;
        long rrFloats = (long)batch * RrFeatureCount;
        long outFloats = (long)batch * ClassCount;
        if (beats.Length != beatFloats)
        {
            throw new ArgumentException(Invariant(
                $"beats holds {beats.Length} floats; {batch} beats of {Channels} channels × {WindowSamples} samples need {beatFloats}."), nameof(beats));
        }

        if (rr.Length != rrFloats)
        {
            throw new ArgumentException(Invariant(
                $"rr holds {rr.Length} floats; {batch} beats of {RrFeatureCount} RR features need {rrFloats}."), nameof(rr));
        }

        if (probabilities.Length < outFloats)
        {
            throw new ArgumentException(Invariant(
                $"probabilities holds {probabilities.Length} floats; {batch} beats of {ClassCount} classes need {outFloats}."), nameof(probabilities));
        }

        if (batch == 0)
        {
            return;
        }

        fixed (float* pBeats = beats)
        fixed (float* pRr = rr)
        fixed (float* pOut = probabilities)
        {
            // Large batches run in chunks: ONNX Runtime's intermediate tensors for hundreds of beats overflow the CPU's
            // caches, and batch 512 ran at half the beats per second of batch 64 (docs/benchmarks.md).
            for (var start = 0; start < batch; start += MaxRunBatch)
            {
                var n = Math.Min(MaxRunBatch, batch - start);
                Run(pBeats + ((long)start * BeatLength), pRr + ((long)start * RrFeatureCount), pOut + ((long)start * ClassCount), n);
            }
        }
    }

    /// <summary>Whether the card's decision needs to know which beats lie in atrial fibrillation (see <see cref="Decide(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{bool}, int, Span{int}, ReadOnlySpan{float}, MorphologyFamilies?)"/>).</summary>
    public bool DecisionUsesRhythm => _prematureRule is { NormalInAf: true } || _ventricularInAf is not null;

    /// <summary>
    /// The card's morphology families (<c>decision.families</c>), or null: a caller that decides a stream's beats in order
    /// keeps one <see cref="MorphologyFamilies"/> per stream with this rule and passes it to <see cref="Decide(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{bool}, int, Span{int}, ReadOnlySpan{float}, MorphologyFamilies?)"/>.
    /// </summary>
    public BeatFamilyRule? FamilyRule { get; }

    /// <summary>A stream's families under this model's rule, or null when the card has none.</summary>
    public MorphologyFamilies? NewFamilies() => FamilyRule is { } rule ? new MorphologyFamilies(rule, WindowSamples) : null;

    /// <summary>
    /// Turns probabilities into classes as the card's <see cref="ModelCard.Decision"/> says, without the per-stream
    /// families: the most probable label (the first on a tie), made N for a beat in AF called V below the card's
    /// <see cref="VentricularInAfRule.MinProbability"/> (beat-cnn 2.4.0), then, for a beat called one of
    /// <see cref="PrematureSupraventricularRule.FromLabels"/> (N or S, and F since beat-cnn 2.2.0), the
    /// <see cref="PrematureSupraventricularRule"/> on its RR features (and, with
    /// <see cref="PrematureSupraventricularRule.VMinProbability"/>, its V probability). A caller with a stream's beats in order
    /// adds the families with the overload that takes them.
    /// </summary>
    /// <param name="probabilities">batch × <see cref="ClassCount"/> probabilities, as <see cref="Classify(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float})"/> wrote them.</param>
    /// <param name="rr">The same beats' RR features: batch × <see cref="RrFeatureCount"/> floats.</param>
    /// <param name="inAf">For each beat, whether it lies in an AF episode; empty when the rhythm is unknown, and then a rule that
    /// depends on it is not applied (the most probable label stands), since calling AF beats premature would flood S.</param>
    /// <param name="batch">The number of beats.</param>
    /// <param name="labels">Receives each beat's label index into <see cref="Labels"/>.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="batch"/>.</exception>
    public void Decide(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> rr, ReadOnlySpan<bool> inAf, int batch, Span<int> labels) =>
        Decide(probabilities, rr, inAf, batch, labels, [], null, asNormal: false);

    /// <summary>
    /// Each beat's class were the network's call N (and the V-in-AF rule and families left aside): what the premature rule
    /// makes of an N call. A caller that votes the families itself (the Agent) uses it for a V call its family overrules.
    /// </summary>
    /// <param name="probabilities">batch × <see cref="ClassCount"/> probabilities.</param>
    /// <param name="rr">batch × <see cref="RrFeatureCount"/> RR features.</param>
    /// <param name="inAf">Per beat, whether it lies in AF; empty when unknown.</param>
    /// <param name="batch">The number of beats.</param>
    /// <param name="labels">Receives each beat's label index.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="batch"/>.</exception>
    public void DecideAsNormal(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> rr, ReadOnlySpan<bool> inAf, int batch, Span<int> labels) =>
        Decide(probabilities, rr, inAf, batch, labels, [], null, asNormal: true);

    /// <summary>
    /// <see cref="Decide(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{bool}, int, Span{int})"/> for one stream's
    /// beats in order, with the card's per-stream families: after the V-in-AF rule, each beat's call is voted in
    /// <paramref name="families"/> (<see cref="MorphologyFamilies.Vote"/>, fed the beat's <see cref="BeatFamilyRule.Channel"/>)
    /// and takes the family's verdict, then the premature rule runs.
    /// </summary>
    /// <param name="probabilities">batch × <see cref="ClassCount"/> probabilities.</param>
    /// <param name="rr">batch × <see cref="RrFeatureCount"/> RR features.</param>
    /// <param name="inAf">Per beat, whether it lies in AF; empty when unknown (then the rules that need it are skipped).</param>
    /// <param name="batch">The number of beats.</param>
    /// <param name="labels">Receives each beat's label index.</param>
    /// <param name="windows">The beats' windows (batch × <see cref="BeatLength"/>).</param>
    /// <param name="families">The stream's families (see <see cref="NewFamilies"/>), updated beat by beat; null to skip the vote.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="batch"/>.</exception>
    public void Decide(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> rr, ReadOnlySpan<bool> inAf, int batch, Span<int> labels,
        ReadOnlySpan<float> windows, MorphologyFamilies? families) =>
        Decide(probabilities, rr, inAf, batch, labels, windows, families, asNormal: false);

    private void Decide(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> rr, ReadOnlySpan<bool> inAf, int batch, Span<int> labels,
        ReadOnlySpan<float> windows, MorphologyFamilies? families, bool asNormal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (probabilities.Length < (long)batch * ClassCount || rr.Length < (long)batch * RrFeatureCount || labels.Length < batch
            || (!inAf.IsEmpty && inAf.Length < batch) || (families is not null && windows.Length < (long)batch * BeatLength))
        {
            throw new ArgumentException(Invariant(
                $"Deciding {batch} beats needs {batch * ClassCount} probabilities, {batch * RrFeatureCount} RR features, {batch} labels, no or {batch} AF flags and, with families, {batch * BeatLength} window floats; got {probabilities.Length}, {rr.Length}, {labels.Length}, {inAf.Length} and {windows.Length}."));
        }

        var rule = _prematureRule;
        bool apply = rule is not null && (!rule.NormalInAf || !inAf.IsEmpty);
        for (int i = 0; i < batch; i++)
        {
            var p = probabilities.Slice(i * ClassCount, ClassCount);
            int best = asNormal ? _nLabel : Call(p, !inAf.IsEmpty && inAf[i]);
            if (families is not null)
            {
                var window = windows.Slice((i * BeatLength) + (families.Rule.Channel * WindowSamples), WindowSamples);
                bool ventricular = MorphologyFamilies.Apply(best == _vLabel, families.Vote(window, best == _vLabel));
                best = ventricular ? _vLabel : best == _vLabel ? _nLabel : best;
            }

            if (apply && _reDecided[best])
            {
                // NaN (no baseline yet) compares false: not premature.
                var features = rr.Slice(i * RrFeatureCount, RrFeatureCount);
                var ratio = features[_prematureFeature];
                bool premature = ratio < rule!.MaxRatio
                    || (rule.EarlyWithPause is { } pause && ratio < pause.MaxRatio && features[_pauseFeature] >= pause.MinRatio);
                bool af = rule.NormalInAf && inAf[i];
                best = !premature || af ? _normalLabel
                    : rule.VMinProbability is { } v && p[_ventricularLabel] >= v ? _ventricularLabel
                    : _supraventricularLabel;
            }

            labels[i] = best;
        }
    }

    /// <summary>The most probable label, made N for a beat in AF called V below the card's V-in-AF probability.</summary>
    private int Call(ReadOnlySpan<float> p, bool inAf)
    {
        int best = ArgMax(p);
        return _ventricularInAf is { } minV && inAf && best == _vLabel && p[_vLabel] < minV ? _nLabel : best;
    }

    /// <summary>The RR feature that tells a premature beat for <see cref="FlagVentricularEctopy"/>: the interval before the beat over the mean of the last ones.</summary>
    public const string EctopyRrFeature = "pre_ratio";

    /// <summary>
    /// A beat is ventricular ectopy for <see cref="FlagVentricularEctopy"/> when its <see cref="EctopyRrFeature"/> is under this.
    /// Ectopy comes early; ventricular-paced and escape beats, which the network also calls V, do not, and evening them out
    /// hid real AF in a paced record (MIT-BIH 217).
    /// </summary>
    public const float EctopyMaxPreRatio = 0.9f;

    /// <summary>
    /// Flags the beats that are premature ventricular ectopy: the network's likeliest label is V (whatever the rhythm, so not the
    /// decision, which may depend on AF) and the beat is premature (<see cref="EctopyMaxPreRatio"/>). An AF detector evens these
    /// out (<c>AfDetector.AddBeat</c> with <c>ventricular</c>), so couplets and trigeminy do not read as irregular atrial rhythm.
    /// A model without a V label flags nothing; one without <see cref="EctopyRrFeature"/> flags every V.
    /// </summary>
    /// <param name="probabilities">batch × <see cref="ClassCount"/> probabilities.</param>
    /// <param name="rr">The same beats' RR features: batch × <see cref="RrFeatureCount"/> floats.</param>
    /// <param name="batch">The number of beats.</param>
    /// <param name="flags">Receives one flag per beat.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="batch"/>.</exception>
    public void FlagVentricularEctopy(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> rr, int batch, Span<bool> flags)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (probabilities.Length < (long)batch * ClassCount || rr.Length < (long)batch * RrFeatureCount || flags.Length < batch)
        {
            throw new ArgumentException(Invariant(
                $"Flagging {batch} beats needs {batch * ClassCount} probabilities, {batch * RrFeatureCount} RR features and {batch} flags; got {probabilities.Length}, {rr.Length} and {flags.Length}."));
        }

        for (int i = 0; i < batch; i++)
        {
            var p = probabilities.Slice(i * ClassCount, ClassCount);
            int best = ArgMax(p);

            // NaN (no interval yet) compares false: not premature.
            flags[i] = _ectopyLabel >= 0 && best == _ectopyLabel
                && (_ectopyPreRatioFeature < 0 || rr[(i * RrFeatureCount) + _ectopyPreRatioFeature] < EctopyMaxPreRatio);
        }
    }

    // The network's likeliest label; the first of equals.
    private static int ArgMax(ReadOnlySpan<float> p)
    {
        int best = 0;
        for (int k = 1; k < p.Length; k++)
        {
            if (p[k] > p[best])
            {
                best = k;
            }
        }

        return best;
    }

    /// <summary>Beats per ONNX Runtime call; larger batches are split (see <see cref="Classify(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float})"/>).</summary>
    public const int MaxRunBatch = 64;

    private unsafe void Run(float* pBeats, float* pRr, float* pOut, int batch)
    {
        var s = t_scratch ??= new Scratch();
        s.BeatShape[0] = batch;
        s.BeatShape[1] = Channels;
        s.BeatShape[2] = WindowSamples;
        s.RrShape[0] = batch;
        s.RrShape[1] = RrFeatureCount;
        s.OutputShape[0] = batch;
        s.OutputShape[1] = ClassCount;

        var memory = OrtMemoryInfo.DefaultInstance;
        using var beatValue = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, s.BeatShape, (IntPtr)pBeats, (long)batch * BeatLength * sizeof(float));
        using var rrValue = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, s.RrShape, (IntPtr)pRr, (long)batch * RrFeatureCount * sizeof(float));
        using var outValue = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, s.OutputShape, (IntPtr)pOut, (long)batch * ClassCount * sizeof(float));
        s.Inputs[0] = beatValue;
        s.Inputs[1] = rrValue;
        s.Outputs[0] = outValue;
        try
        {
            _session.Run(_runOptions, _inputNames, s.Inputs, _outputNames, s.Outputs);
        }
        finally
        {
            s.Inputs[0] = null!;
            s.Inputs[1] = null!;
            s.Outputs[0] = null!;
        }
    }

    /// <summary>Classifies one beat.</summary>
    /// <param name="beat">The beat window, channel after channel: <see cref="BeatLength"/> floats.</param>
    /// <param name="rr">The RR features: <see cref="RrFeatureCount"/> floats.</param>
    /// <returns>The probabilities, the predicted label and the model's name and version.</returns>
    public BeatClassification Classify(ReadOnlySpan<float> beat, ReadOnlySpan<float> rr)
    {
        Span<float> p = ClassCount <= 64 ? stackalloc float[ClassCount] : new float[ClassCount];
        Classify(beat, rr, 1, p);
        return CreateResult(p);
    }

    /// <summary>Classifies a list of beats, in batches of at most <see cref="MaxBatch"/>.</summary>
    /// <param name="beats">The beats; each holds <see cref="BeatLength"/> window floats and <see cref="RrFeatureCount"/> RR features.</param>
    /// <returns>One result per beat, in order, each naming the model that produced it.</returns>
    /// <exception cref="ArgumentException">A beat's window or RR features have the wrong length.</exception>
    public IReadOnlyList<BeatClassification> Classify(IReadOnlyList<BeatInput> beats)
    {
        ArgumentNullException.ThrowIfNull(beats);
        int n = beats.Count;
        if (n == 0)
        {
            return [];
        }

        int chunk = Math.Min(n, MaxBatch);
        var results = new BeatClassification[n];
        var beatBuffer = ArrayPool<float>.Shared.Rent(chunk * BeatLength);
        var rrBuffer = ArrayPool<float>.Shared.Rent(chunk * RrFeatureCount);
        var outBuffer = ArrayPool<float>.Shared.Rent(chunk * ClassCount);
        try
        {
            for (int start = 0; start < n; start += chunk)
            {
                int b = Math.Min(chunk, n - start);
                for (int i = 0; i < b; i++)
                {
                    var input = beats[start + i];
                    if (input.Beat.Length != BeatLength)
                    {
                        throw new ArgumentException(Invariant(
                            $"beat {start + i} holds {input.Beat.Length} window floats; the model needs {Channels} channels × {WindowSamples} samples = {BeatLength}."), nameof(beats));
                    }

                    if (input.Rr.Length != RrFeatureCount)
                    {
                        throw new ArgumentException(Invariant(
                            $"beat {start + i} holds {input.Rr.Length} RR features; the model needs {RrFeatureCount}."), nameof(beats));
                    }

                    input.Beat.Span.CopyTo(beatBuffer.AsSpan(i * BeatLength, BeatLength));
                    input.Rr.Span.CopyTo(rrBuffer.AsSpan(i * RrFeatureCount, RrFeatureCount));
                }

                Classify(beatBuffer.AsSpan(0, b * BeatLength), rrBuffer.AsSpan(0, b * RrFeatureCount), b, outBuffer.AsSpan(0, b * ClassCount));
                for (int i = 0; i < b; i++)
                {
                    results[start + i] = CreateResult(outBuffer.AsSpan(i * ClassCount, ClassCount));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(beatBuffer);
            ArrayPool<float>.Shared.Return(rrBuffer);
            ArrayPool<float>.Shared.Return(outBuffer);
        }

        return results;
    }

    /// <summary>Runs the card's test vectors and returns the largest absolute difference from the card's probabilities.</summary>
    public float MaxTestVectorError()
    {
        var vectors = Card.TestVectors;
        int n = vectors.Count;
        var beats = new float[n * BeatLength];
        var rr = new float[n * RrFeatureCount];
        var output = new float[n * ClassCount];
        for (int i = 0; i < n; i++)
        {
            var v = vectors[i];
            for (int c = 0; c < Channels; c++)
            {
                v.Beat[c].CopyTo(beats, (i * Channels + c) * WindowSamples);
            }

            v.Rr.CopyTo(rr, i * RrFeatureCount);
        }

        Classify(beats, rr, n, output);
        float worst = 0f;
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < ClassCount; k++)
            {
                float d = MathF.Abs(output[i * ClassCount + k] - vectors[i].Probabilities[k]);
                worst = float.IsNaN(d) ? float.PositiveInfinity : Math.Max(worst, d);
            }
        }

        return worst;
    }

    /// <summary>Releases the ONNX Runtime session. Call it once no call is in flight.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _session.Dispose();
        _runOptions.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Id;

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1; // the card's validation has refused a rule whose names are missing
    }

    private static SessionOptions CreateSessionOptions(int intraOpThreads) => new()
    {
        EnableCpuMemArena = false,
        IntraOpNumThreads = intraOpThreads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
    };

    private static void CheckSignature(InferenceSession session, ModelCard card, string onnxPath)
    {
        var t = card.Input.TensorNames;
        var errors = new List<string>();
        CheckTensor(session.InputMetadata, "input", t.Beat, [card.Input.Channels, card.Input.WindowSamples], errors);
        CheckTensor(session.InputMetadata, "input", t.Rr, [card.Input.RrFeatures.Count], errors);
        CheckTensor(session.OutputMetadata, "output", t.Output, [card.Labels.Count], errors);
        foreach (var name in session.InputMetadata.Keys)
        {
            if (name != t.Beat && name != t.Rr)
            {
                errors.Add($"the model has an input '{name}' that the card does not declare.");
            }
        }

        if (errors.Count > 0)
        {
            throw new ModelLoadException(onnxPath, ModelLoadFailure.SignatureMismatch,
                "the model's tensors differ from the card (" + card.Id + "): " + string.Join(" ", errors));
        }
    }

    private static void CheckTensor(IReadOnlyDictionary<string, NodeMetadata> metadata, string kind, string name, int[] expected, List<string> errors)
    {
        if (!metadata.TryGetValue(name, out var m))
        {
            errors.Add($"the model has no {kind} '{name}' (its {kind}s: {string.Join(", ", metadata.Keys)}).");
            return;
        }

        if (!m.IsTensor || m.ElementType != typeof(float))
        {
            errors.Add($"{kind} '{name}' is {m.OnnxValueType} of {m.ElementDataType}, not a float32 tensor.");
            return;
        }

        var dims = m.Dimensions;
        var shown = "[" + string.Join(", ", dims.Select((d, i) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : NameOf(m, i))) + "]";
        var wanted = "[batch, " + string.Join(", ", expected) + "]";
        if (dims.Length != expected.Length + 1)
        {
            errors.Add(Invariant($"{kind} '{name}' has shape {shown}; the card implies {wanted}."));
            return;
        }

        if (dims[0] >= 0)
        {
            errors.Add(Invariant($"{kind} '{name}' has shape {shown} with a fixed batch axis; the batch axis must be dynamic."));
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (dims[i + 1] != expected[i])
            {
                errors.Add(Invariant($"{kind} '{name}' has shape {shown}; the card implies {wanted}."));
                break;
            }
        }
    }

    private static string NameOf(NodeMetadata m, int axis)
    {
        var symbolic = m.SymbolicDimensions;
        return axis < symbolic.Length && !string.IsNullOrEmpty(symbolic[axis]) ? symbolic[axis] : "?";
    }

    private void VerifyTestVectors(float tolerance)
    {
        float worst = MaxTestVectorError();
        if (!(worst <= tolerance))
        {
            throw new ModelLoadException(OnnxPath, ModelLoadFailure.TestVectorMismatch, Invariant(
                $"on the card's {Card.TestVectors.Count} test vectors its probabilities differ from the card's by up to {worst:G3}, more than the tolerance {tolerance:G3}."));
        }
    }

    private BeatClassification CreateResult(ReadOnlySpan<float> p)
    {
        int best = ArgMax(p);
        return new BeatClassification(Card.Name, Card.Version, p.ToArray(), best, _labels[best]);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Per-thread shapes and value arrays, so that a call allocates none of its own.</summary>
    private sealed class Scratch
    {
        public readonly long[] BeatShape = new long[3];
        public readonly long[] RrShape = new long[2];
        public readonly long[] OutputShape = new long[2];
        public readonly OrtValue[] Inputs = new OrtValue[2];
        public readonly OrtValue[] Outputs = new OrtValue[1];
    }
}
