namespace HeartTwin.Signals.Rhythm;

/// <summary>Signal-quality index of one ECG window: overall score and category plus the features behind them.</summary>
/// <param name="Score">Overall quality, 0 (unusable) to 1 (clean).</param>
/// <param name="Category">Good, Acceptable or Unusable.</param>
/// <param name="Issues">Every problem found.</param>
/// <param name="FlatLineFraction">Fraction (0–1) of samples in flat stretches.</param>
/// <param name="ClippedFraction">Fraction (0–1) of samples on plateaus at the window's maximum or minimum.</param>
/// <param name="PeakToPeakMillivolts">Maximum minus minimum, in mV.</param>
/// <param name="HighFrequencyPowerRatio">Fraction (0–1) of the window's power (mean removed) above the high-frequency cut-off.</param>
/// <param name="BaselinePowerRatio">Fraction (0–1) of the window's power (mean removed) below the baseline cut-off.</param>
/// <param name="Kurtosis">Pearson kurtosis (normal distribution = 3); NaN for a constant window.</param>
/// <param name="BeatRegularity">Fraction (0–1) of RR intervals within [200, 3000] ms; NaN when no beats (or fewer than two) were given.</param>
public readonly record struct SignalQualityResult(
    double Score,
    SignalQualityCategory Category,
    SignalQualityIssues Issues,
    double FlatLineFraction,
    double ClippedFraction,
    double PeakToPeakMillivolts,
    double HighFrequencyPowerRatio,
    double BaselinePowerRatio,
    double Kurtosis,
    double BeatRegularity)
{
    /// <summary>Whether every flag in <paramref name="issues"/> is set.</summary>
    /// <param name="issues">One or more flags.</param>
    /// <returns><see langword="true"/> when all are set.</returns>
    public bool Has(SignalQualityIssues issues) => (Issues & issues) == issues;
}
