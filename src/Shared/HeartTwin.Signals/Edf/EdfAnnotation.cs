namespace HeartTwin.Signals.Edf;

/// <summary>One EDF+ annotation taken from a Time-stamped Annotation List (TAL).</summary>
/// <param name="OnsetSeconds">Onset in seconds relative to the file's start date and time (may be negative or fractional).</param>
/// <param name="DurationSeconds">Duration in seconds, or <see langword="null"/> when the TAL gives none.</param>
/// <param name="Text">The annotation text (UTF-8 decoded); never empty.</param>
public sealed record EdfAnnotation(double OnsetSeconds, double? DurationSeconds, string Text);
