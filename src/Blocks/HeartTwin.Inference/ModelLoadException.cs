namespace HeartTwin.Inference;

/// <summary>Why a model could not be loaded.</summary>
public enum ModelLoadFailure
{
    /// <summary>The model card file does not exist.</summary>
    CardNotFound,

    /// <summary>The card is not valid JSON, lacks a required field, or a field's value is out of range.</summary>
    CardInvalid,

    /// <summary>The card's task is not one that this loader serves.</summary>
    UnsupportedTask,

    /// <summary>The ONNX file that the card names does not exist beside the card.</summary>
    OnnxNotFound,

    /// <summary>The ONNX file's SHA-256 differs from the card's <c>onnx_sha256</c>.</summary>
    Sha256Mismatch,

    /// <summary>ONNX Runtime could not read the ONNX file (corrupt, truncated, or an unsupported opset).</summary>
    OnnxInvalid,

    /// <summary>The model's inputs or outputs (names, element types, ranks, dimensions) differ from what the card declares.</summary>
    SignatureMismatch,

    /// <summary>The model's outputs on the card's test vectors differ from the card's probabilities by more than the tolerance.</summary>
    TestVectorMismatch,
}

/// <summary>
/// A model that cannot be loaded: the card or the ONNX file is missing, invalid, or they disagree.
/// The message names the file and the reason, so that an operator can act on it.
/// </summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ModelLoadException() : base("The model could not be loaded.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ModelLoadException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ModelLoadException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a file, a failure kind and the reason in words.</summary>
    /// <param name="path">The file that failed: the card, or the ONNX file it names.</param>
    /// <param name="failure">The kind of failure.</param>
    /// <param name="reason">What is wrong, in words.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public ModelLoadException(string path, ModelLoadFailure failure, string reason, Exception? innerException = null)
        : base($"Cannot load the model from '{path}' ({failure}): {reason}", innerException)
    {
        FilePath = path;
        Failure = failure;
        Reason = reason;
    }

    /// <summary>The file that failed: the card, or the ONNX file it names. Empty when not set.</summary>
    public string FilePath { get; } = "";

    /// <summary>The kind of failure.</summary>
    public ModelLoadFailure Failure { get; } = ModelLoadFailure.CardInvalid;

    /// <summary>What is wrong, in words (the message without the path).</summary>
    public string Reason { get; } = "";
}
