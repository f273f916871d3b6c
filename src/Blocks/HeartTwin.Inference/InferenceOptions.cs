using System.ComponentModel.DataAnnotations;

namespace HeartTwin.Inference;

/// <summary>The "Inference" configuration section.</summary>
public sealed class InferenceOptions
{
    /// <summary>The configuration section's name.</summary>
    public const string SectionName = "Inference";

    /// <summary>The folder of model cards and ONNX files, absolute or relative to the content root. Default "models".</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelsDirectory { get; set; } = "models";

    /// <summary>The default model, <c>name</c> or <c>name@version</c>; empty for the only (or first) model loaded.</summary>
    [RegularExpression(@"^[A-Za-z0-9._\-]+(@[^@\s]+)?$", ErrorMessage = "DefaultModel must be a model name or name@version.")]
    public string? DefaultModel { get; set; }

    /// <summary>ONNX Runtime's intra-op threads per call. Default 1: concurrent callers scale better than threads inside one call.</summary>
    [Range(1, 256)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>The most beats sent to a model in one call by the list API. Default 512.</summary>
    [Range(1, 65_536)]
    public int MaxBatch { get; set; } = 512;
}
