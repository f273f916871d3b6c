using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeartTwin.Inference;

/// <summary>
/// The beat models that are loaded, several names and versions side by side, looked up by <c>name</c> (its highest
/// version) or by <c>name@version</c>, with one default. Thread-safe: lookups read an immutable snapshot, and
/// registering replaces it. Owns the models: disposing the registry disposes them.
/// </summary>
public sealed partial class ModelRegistry : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private volatile Snapshot _snapshot = Snapshot.Empty;
    private string? _defaultModel;
    private bool _disposed;

    /// <summary>Creates an empty registry; add models with <see cref="Register(BeatClassifier)"/> or <see cref="LoadDirectory"/>.</summary>
    /// <param name="defaultModel">The default model's <c>name</c> or <c>name@version</c>; null for the first registered.</param>
    /// <param name="logger">Where loading is logged; null for none.</param>
    public ModelRegistry(string? defaultModel = null, ILogger<ModelRegistry>? logger = null)
    {
        _defaultModel = string.IsNullOrWhiteSpace(defaultModel) ? null : defaultModel;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Creates the registry from the "Inference" options: loads every beat-classification card in
    /// <see cref="InferenceOptions.ModelsDirectory"/> (relative to the content root) and checks that the configured
    /// default model is among them.
    /// </summary>
    /// <param name="options">The options.</param>
    /// <param name="environment">The host environment, for the content root; null for the current directory.</param>
    /// <param name="logger">Where loading is logged; null for none.</param>
    /// <exception cref="ModelLoadException">A card in the directory, or the model it names, cannot be loaded.</exception>
    /// <exception cref="ModelNotFoundException">The configured default model is not among those loaded.</exception>
    public ModelRegistry(IOptions<InferenceOptions> options, IHostEnvironment? environment = null, ILogger<ModelRegistry>? logger = null)
        : this(options?.Value.DefaultModel, logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        var directory = Path.IsPathRooted(o.ModelsDirectory)
            ? o.ModelsDirectory
            : Path.Combine(environment?.ContentRootPath ?? Directory.GetCurrentDirectory(), o.ModelsDirectory);
        try
        {
            LoadDirectory(directory, new BeatClassifierOptions { IntraOpThreads = o.IntraOpThreads, MaxBatch = o.MaxBatch });
            if (_defaultModel is not null)
            {
                _ = Default;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The loaded models, in the order they were registered.</summary>
    public IReadOnlyList<BeatClassifier> Models => _snapshot.Models;

    /// <summary>The default model's <c>name</c> or <c>name@version</c>; null for the first registered. Settable at any time.</summary>
    public string? DefaultModel
    {
        get => Volatile.Read(ref _defaultModel);
        set => Volatile.Write(ref _defaultModel, string.IsNullOrWhiteSpace(value) ? null : value);
    }

    /// <summary>The default model: the one <see cref="DefaultModel"/> names, or else the first registered (the only one, usually).</summary>
    /// <exception cref="ModelNotFoundException">No model is loaded, or the one named as default is not.</exception>
    public BeatClassifier Default
    {
        get
        {
            var selector = DefaultModel;
            var snapshot = CurrentSnapshot();
            if (selector is not null)
            {
                return Find(snapshot, selector)
                    ?? throw new ModelNotFoundException(selector, snapshot.Ids, "It is configured as the default model (Inference:DefaultModel).");
            }

            return snapshot.Models.Count > 0
                ? snapshot.Models[0]
                : throw new ModelNotFoundException("the default model", snapshot.Ids, "Put a model card and its ONNX file in the models directory (Inference:ModelsDirectory).");
        }
    }

    /// <summary>Finds a model by <c>name</c> (its highest version) or by <c>name@version</c>.</summary>
    /// <exception cref="ModelNotFoundException">No such model is loaded.</exception>
    /// <exception cref="ObjectDisposedException">The registry has been disposed.</exception>
    public BeatClassifier Get(string nameOrId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrId);
        var snapshot = CurrentSnapshot();
        return Find(snapshot, nameOrId) ?? throw new ModelNotFoundException(nameOrId, snapshot.Ids);
    }

    /// <summary>Finds a model by <c>name</c> (its highest version) or by <c>name@version</c>.</summary>
    /// <returns>Whether it is loaded.</returns>
    public bool TryGet(string nameOrId, [NotNullWhen(true)] out BeatClassifier? model)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrId);
        model = Find(CurrentSnapshot(), nameOrId);
        return model is not null;
    }

    /// <summary>Adds a loaded model; the registry owns it from then on.</summary>
    /// <exception cref="InvalidOperationException">A model with the same <c>name@version</c> is already registered.</exception>
    public void Register(BeatClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _snapshot;
            if (current.ById.TryGetValue(model.Id, out var existing))
            {
                throw new InvalidOperationException($"Model {model.Id} is already registered (from {existing.CardPath}); cannot register it again from {model.CardPath}.");
            }

            _snapshot = current.With(model);
        }

        LogRegistered(_logger, model.Id, model.CardPath);
    }

    /// <summary>Loads a model by its card and adds it.</summary>
    /// <returns>The model.</returns>
    /// <exception cref="ModelLoadException">It cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">A model with the same <c>name@version</c> is already registered.</exception>
    public BeatClassifier Register(string cardPath, BeatClassifierOptions? options = null)
    {
        var model = BeatClassifier.Load(cardPath, options);
        try
        {
            Register(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return model;
    }

    /// <summary>
    /// Loads every <c>*.json</c> model card in a folder (in file-name order) whose task is beat classification. Cards
    /// of other tasks are logged and left for their own loaders; a JSON file that is not a card, or a beat card that
    /// cannot be loaded, is an error: nothing is skipped silently. A missing folder loads nothing, with a warning.
    /// </summary>
    /// <param name="directory">The models folder.</param>
    /// <param name="options">How to run the models; null for the defaults.</param>
    /// <returns>The models loaded.</returns>
    /// <exception cref="ModelLoadException">A card or its model cannot be loaded.</exception>
    public IReadOnlyList<BeatClassifier> LoadDirectory(string directory, BeatClassifierOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            LogNoDirectory(_logger, Path.GetFullPath(directory));
            return [];
        }

        var loaded = new List<BeatClassifier>();
        foreach (var card in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var task = ReadTask(card);
            if (task != ModelCard.BeatClassificationTask)
            {
                LogOtherTask(_logger, card, task);
                continue;
            }

            loaded.Add(Register(card, options));
        }

        return loaded;
    }

    /// <summary>Disposes every model. Call it once no classification is in flight.</summary>
    public void Dispose()
    {
        Snapshot snapshot;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            snapshot = _snapshot;
            _snapshot = Snapshot.Empty;
        }

        foreach (var model in snapshot.Models)
        {
            model.Dispose();
        }
    }

    private Snapshot CurrentSnapshot()
    {
        var snapshot = _snapshot;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        return snapshot;
    }

    /// <summary>Reads a JSON file's top-level <c>task</c>, to tell beat cards from others before loading.</summary>
    private static string ReadTask(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var doc = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("task", out var task)
                && task.ValueKind == JsonValueKind.String)
            {
                return task.GetString()!;
            }
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(path, ModelLoadFailure.CardInvalid, $"the models folder holds a JSON file that cannot be parsed: {e.Message}", e);
        }

        throw new ModelLoadException(path, ModelLoadFailure.CardInvalid, "the models folder holds a JSON file without a string 'task': it is not a model card.");
    }

    private static BeatClassifier? Find(Snapshot snapshot, string nameOrId)
    {
        if (snapshot.ById.TryGetValue(nameOrId, out var exact))
        {
            return exact;
        }

        return nameOrId.Contains('@', StringComparison.Ordinal) ? null : snapshot.LatestByName.GetValueOrDefault(nameOrId);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Loaded beat model {ModelId} from {CardPath}")]
    private static partial void LogRegistered(ILogger logger, string modelId, string cardPath);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The models folder {Directory} does not exist; no beat model is loaded")]
    private static partial void LogNoDirectory(ILogger logger, string directory);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Model card {CardPath} is for task {Task}, not beat classification; left to its own loader")]
    private static partial void LogOtherTask(ILogger logger, string cardPath, string task);

    private sealed class Snapshot
    {
        public static readonly Snapshot Empty = new([]);

        private readonly BeatClassifier[] _models;

        private Snapshot(BeatClassifier[] models)
        {
            _models = models;
            Models = Array.AsReadOnly(models);
            Ids = [.. models.Select(m => m.Id)];
            ById = models.ToDictionary(m => m.Id, StringComparer.Ordinal);
            LatestByName = models
                .GroupBy(m => m.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Aggregate((a, b) => VersionComparer.Instance.Compare(b.Version, a.Version) > 0 ? b : a), StringComparer.Ordinal);
        }

        public ReadOnlyCollection<BeatClassifier> Models { get; }

        public IReadOnlyList<string> Ids { get; }

        public Dictionary<string, BeatClassifier> ById { get; }

        public Dictionary<string, BeatClassifier> LatestByName { get; }

        public Snapshot With(BeatClassifier model) => new([.. _models, model]);
    }
}

/// <summary>
/// Orders versions such as <c>1.2.0</c> and <c>1.10.0-rc1</c>: numerically by their dotted numbers, a pre-release
/// (after '-') before its release; versions that are not dotted numbers compare as ordinal strings.
/// </summary>
internal sealed class VersionComparer : IComparer<string>
{
    public static readonly VersionComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return string.CompareOrdinal(x, y);
        }

        var (xCore, xPre) = Split(x);
        var (yCore, yPre) = Split(y);
        var xs = xCore.Split('.');
        var ys = yCore.Split('.');
        if (xs.All(IsNumber) && ys.All(IsNumber))
        {
            for (int i = 0; i < Math.Max(xs.Length, ys.Length); i++)
            {
                var a = i < xs.Length ? long.Parse(xs[i], CultureInfo.InvariantCulture) : 0;
                var b = i < ys.Length ? long.Parse(ys[i], CultureInfo.InvariantCulture) : 0;
                if (a != b)
                {
                    return a.CompareTo(b);
                }
            }

            return (xPre, yPre) switch
            {
                (null, null) => 0,
                (null, _) => 1,
                (_, null) => -1,
                _ => string.CompareOrdinal(xPre, yPre),
            };
        }

        return string.CompareOrdinal(x, y);
    }

    private static (string Core, string? Pre) Split(string v)
    {
        var core = v.Split('+')[0];
        int dash = core.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? (core, null) : (core[..dash], core[(dash + 1)..]);
    }

    private static bool IsNumber(string s) => s.Length is > 0 and <= 18 && s.All(char.IsAsciiDigit);
}
