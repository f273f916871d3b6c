using System.Globalization;

namespace HeartTwin.Inference;

/// <summary>
/// How a model's probabilities become a class (the card's optional <c>decision</c> object). Without it, or without the
/// rhythm context a rule needs, a beat's class is the most probable label.
/// </summary>
public sealed class ModelDecision
{
    /// <summary>The rule that splits the beats the network calls N or S (or F, see <see cref="PrematureSupraventricularRule.FromLabels"/>) by prematurity; null for none.</summary>
    public PrematureSupraventricularRule? PrematureSupraventricular { get; init; }

    /// <summary>
    /// Applied first (beat-cnn 2.4.0): a beat in AF that the network calls V with a V probability below
    /// <see cref="VentricularInAfRule.MinProbability"/> is N; null for none.
    /// </summary>
    public VentricularInAfRule? VentricularInAf { get; init; }

    /// <summary>
    /// Applied next (beat-cnn 2.4.0), per stream: each patient's morphology families vote on the calls
    /// (<see cref="HeartTwin.Signals.Beats.MorphologyFamilies"/>); null for none.
    /// </summary>
    public FamiliesRule? Families { get; init; }

    internal void Validate(ModelCard card, List<string> errors)
    {
        PrematureSupraventricular?.Validate(card, errors);
        if (VentricularInAf is { } vaf)
        {
            if (!double.IsFinite(vaf.MinProbability) || vaf.MinProbability <= 0 || vaf.MinProbability > 1)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.ventricular_in_af.min_probability {vaf.MinProbability} must be above 0 and at most 1."));
            }

            if (card.Labels is { } labels && (!labels.Contains("V", StringComparer.Ordinal) || !labels.Contains("N", StringComparer.Ordinal)))
            {
                errors.Add("decision.ventricular_in_af needs the labels N and V.");
            }
        }

        if (Families is { } f)
        {
            try
            {
                f.ToRule().Validate();
            }
            catch (ArgumentException e)
            {
                errors.Add($"decision.families: {e.Message}");
            }

            if (card.Input is { } input && f.Channel >= input.Channels)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.families.channel {f.Channel} is not one of the input's {input.Channels} channels."));
            }

            if (card.Labels is { } labels && (!labels.Contains("V", StringComparer.Ordinal) || !labels.Contains("N", StringComparer.Ordinal)))
            {
                errors.Add("decision.families needs the labels N and V.");
            }
        }
    }
}

/// <summary>
/// Aberrant conduction is common in atrial fibrillation and looks ventricular to a morphology model, so in AF a V call needs
/// more evidence: below <see cref="MinProbability"/> it is N (training/beats/README.md, "Families with the AF evidence").
/// </summary>
public sealed class VentricularInAfRule
{
    /// <summary>The V probability a beat in AF needs to stay V (0.7 in beat-cnn 2.4.0).</summary>
    public required double MinProbability { get; init; }
}

/// <summary>The card's <c>decision.families</c>: the settings of <see cref="HeartTwin.Signals.Beats.MorphologyFamilies"/>.</summary>
public sealed class FamiliesRule
{
    /// <summary>The window channel compared (0: the normalised beat).</summary>
    public int Channel { get; init; }

    /// <summary>A beat joins its best family when their correlation is at least this.</summary>
    public required double MinCorrelation { get; init; }

    /// <summary>Families kept per stream.</summary>
    public required int Templates { get; init; }

    /// <summary>Beats a family needs before it votes.</summary>
    public required int MinBeats { get; init; }

    /// <summary>The share of a family's calls (more than this) that overrules a beat's own call.</summary>
    public required double Majority { get; init; }

    /// <summary>The rule as the signal code takes it.</summary>
    public HeartTwin.Signals.Beats.BeatFamilyRule ToRule() => new(Channel, MinCorrelation, Templates, MinBeats, Majority);
}

/// <summary>
/// The supraventricular prematurity rule of Holter analysis, applied after the network: a beat the network calls N or S
/// (a supraventricular morphology) is S when its RR interval is shorter than <see cref="MaxRatio"/> of the patient's
/// long RR baseline, and N otherwise; in atrial fibrillation every such beat is N, as EC57 labels AF beats.
/// </summary>
/// <remarks>
/// Why a rule and not the network: an S beat looks like the patient's N beats; what sets it apart is its timing against
/// that patient's own rhythm. Trained on 22 patients, the network learnt morphology and used the RR inputs poorly
/// (S Se 24%, +P 19% cross-validated), while this one comparison, with AF excluded, reaches S 52/60 on the same folds
/// (docs/beat-model-contract.md, training/beats/README.md). Prematurity relative to the long baseline (the median of the
/// last 100 RR intervals) also catches the beats inside a run of S beats, which a short average would absorb.
/// </remarks>
public sealed class PrematureSupraventricularRule
{
    /// <summary>The RR feature compared, by its name in the card's <c>input.rr_features</c>: the RR interval before the beat over the long baseline.</summary>
    public string RrFeature { get; init; } = "pre_long_ratio";

    /// <summary>A beat is premature when the feature is below this ratio (0.8: at least 20% early).</summary>
    public required double MaxRatio { get; init; }

    /// <summary>Whether beats inside an AF episode are always N (the rule needs the rhythm context then).</summary>
    public bool NormalInAf { get; init; } = true;

    /// <summary>
    /// A beat the rule would call S is V instead when the network gives V at least this probability; null for never. A
    /// premature ventricular beat that the network calls N (most of the rule's false S) usually keeps some V probability.
    /// </summary>
    public double? VMinProbability { get; init; }

    /// <summary>
    /// The network's labels the rule re-decides: N and S (the default, as in beat-cnn 2.1.0), and F since 2.2.0. Across
    /// patients the network's F calls are N beats (F is learnt from one DS1 record), so they go through the same timing
    /// test. V is never one of them: a ventricular morphology stays V.
    /// </summary>
    public IReadOnlyList<string> FromLabels { get; init; } = ["N", "S"];

    /// <summary>
    /// A second way to be premature (beat-cnn 2.3.0): less early, but followed by a pause; null for none. An atrial
    /// premature beat resets the sinus node, so a longer interval follows it, while sinus arrhythmia changes slowly and
    /// does not pair a short interval with a long one.
    /// </summary>
    public EarlyWithPauseRule? EarlyWithPause { get; init; }

    internal void Validate(ModelCard card, List<string> errors)
    {
        if (!double.IsFinite(MaxRatio) || MaxRatio <= 0 || MaxRatio > 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.premature_supraventricular.max_ratio {MaxRatio} must be above 0 and at most 1."));
        }

        if (VMinProbability is { } v && (!double.IsFinite(v) || v <= 0 || v > 1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.premature_supraventricular.v_min_probability {v} must be above 0 and at most 1."));
        }

        if (VMinProbability is not null && card.Labels is { } vLabels && !vLabels.Contains("V", StringComparer.Ordinal))
        {
            errors.Add("decision.premature_supraventricular.v_min_probability needs the label V.");
        }

        if (card.Input?.RrFeatures is { } names && !names.Contains(RrFeature, StringComparer.Ordinal))
        {
            errors.Add($"decision.premature_supraventricular.rr_feature '{RrFeature}' is not one of input.rr_features.");
        }

        if (card.Labels is { } labels && (!labels.Contains("N", StringComparer.Ordinal) || !labels.Contains("S", StringComparer.Ordinal)))
        {
            errors.Add("decision.premature_supraventricular needs the labels N and S.");
        }

        EarlyWithPause?.Validate(card, errors);

        if (FromLabels is null || FromLabels.Count == 0)
        {
            errors.Add("decision.premature_supraventricular.from_labels must name at least one label.");
        }
        else
        {
            foreach (var label in FromLabels)
            {
                if (label == "V")
                {
                    errors.Add("decision.premature_supraventricular.from_labels cannot hold V: a ventricular call is not re-decided by timing.");
                }
                else if (card.Labels is { } known && !known.Contains(label, StringComparer.Ordinal))
                {
                    errors.Add($"decision.premature_supraventricular.from_labels '{label}' is not one of the card's labels.");
                }
            }
        }
    }
}

/// <summary>
/// A beat is also premature when its <see cref="PrematureSupraventricularRule.RrFeature"/> is below <see cref="MaxRatio"/>
/// and its <see cref="RrFeature"/> (the interval after it over the one before it) is at least <see cref="MinRatio"/>.
/// </summary>
public sealed class EarlyWithPauseRule
{
    /// <summary>The prematurity bound for a beat followed by a pause (0.9: at least 10% early).</summary>
    public required double MaxRatio { get; init; }

    /// <summary>The RR feature that measures the pause, by its name in the card's <c>input.rr_features</c>.</summary>
    public string RrFeature { get; init; } = "post_pre_ratio";

    /// <summary>The pause: the feature must be at least this (1.2: the next interval 20% longer than the one before).</summary>
    public required double MinRatio { get; init; }

    internal void Validate(ModelCard card, List<string> errors)
    {
        if (!double.IsFinite(MaxRatio) || MaxRatio <= 0 || MaxRatio > 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.premature_supraventricular.early_with_pause.max_ratio {MaxRatio} must be above 0 and at most 1."));
        }

        if (!double.IsFinite(MinRatio) || MinRatio < 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"decision.premature_supraventricular.early_with_pause.min_ratio {MinRatio} must be at least 1."));
        }

        if (card.Input?.RrFeatures is { } names && !names.Contains(RrFeature, StringComparer.Ordinal))
        {
            errors.Add($"decision.premature_supraventricular.early_with_pause.rr_feature '{RrFeature}' is not one of input.rr_features.");
        }
    }
}
