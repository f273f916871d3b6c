namespace HeartTwin.Inference;

/// <summary>A model asked of the <see cref="ModelRegistry"/> by name, by <c>name@version</c> or as the default is not loaded.</summary>
public sealed class ModelNotFoundException : KeyNotFoundException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ModelNotFoundException() : base("The model is not loaded.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ModelNotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ModelNotFoundException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a request and the models that are loaded.</summary>
    /// <param name="requested">The name, <c>name@version</c>, or a description such as "the default model".</param>
    /// <param name="available">The loaded models' <c>name@version</c>.</param>
    /// <param name="detail">What to do about it, or null.</param>
    public ModelNotFoundException(string requested, IReadOnlyList<string> available, string? detail = null)
        : base($"Model '{requested}' is not loaded; loaded: {(available.Count == 0 ? "none" : string.Join(", ", available))}.{(detail is null ? "" : " " + detail)}")
    {
        Requested = requested;
        Available = available;
    }

    /// <summary>What was asked for.</summary>
    public string Requested { get; } = "";

    /// <summary>The loaded models' <c>name@version</c> when it was asked.</summary>
    public IReadOnlyList<string> Available { get; } = [];
}
