namespace HeartTwin.Signals.Rhythm;

/// <summary>Thresholds of <see cref="SignalQuality.Assess"/>; the defaults suit adult surface ECG in mV.</summary>
public sealed record SignalQualityOptions
{
    /// <summary>The defaults.</summary>
    public static SignalQualityOptions Default { get; } = new();

    /// <summary>Shortest window assessed, in seconds; shorter windows are <see cref="SignalQualityIssues.TooShort"/>.</summary>
    public double MinWindowSeconds { get; init; } = 1.0;

    /// <summary>Largest range, in mV, of a stretch still counted as flat.</summary>
    public double FlatToleranceMillivolts { get; init; } = 0.01;

    /// <summary>
    /// Shortest flat stretch that counts, in seconds. An isoelectric TP segment is shorter than this at any rate
    /// above 40 bpm and is never exactly flat in a real recording, while a lead-off trace is flat for seconds.
    /// </summary>
    public double MinFlatRunSeconds { get; init; } = 1.0;

    /// <summary>Flat-line flag threshold: fraction (0–1) of samples in flat stretches.</summary>
    public double FlatLineFractionLimit { get; init; } = 0.2;

    /// <summary>Clipping flag threshold: fraction (0–1) of samples on plateaus at the window's extremes.</summary>
    public double ClippedFractionLimit { get; init; } = 0.01;

    /// <summary>Smallest physiological peak-to-peak amplitude in mV.</summary>
    public double MinPeakToPeakMillivolts { get; init; } = 0.1;

    /// <summary>Largest physiological peak-to-peak amplitude in mV.</summary>
    public double MaxPeakToPeakMillivolts { get; init; } = 10.0;

    /// <summary>
    /// Lower edge, in Hz, of the high-frequency noise band. Most QRS energy lies below 40 Hz, EMG largely above.
    /// Capped at 0.45 × sample rate for low rates.
    /// </summary>
    public double HighFrequencyCutoffHz { get; init; } = 40.0;

    /// <summary>High-frequency noise flag threshold: fraction (0–1) of the window's power above <see cref="HighFrequencyCutoffHz"/>.</summary>
    public double HighFrequencyRatioLimit { get; init; } = 0.15;

    /// <summary>Upper edge, in Hz, of the baseline-wander band.</summary>
    public double BaselineCutoffHz { get; init; } = 1.0;

    /// <summary>Baseline-wander flag threshold: fraction (0–1) of the window's power below <see cref="BaselineCutoffHz"/>.</summary>
    public double BaselineRatioLimit { get; init; } = 0.5;

    /// <summary>Kurtosis flag threshold (Pearson, normal = 3); Li and Clifford (2008) find clean ECG above 5.</summary>
    public double KurtosisLimit { get; init; } = 5.0;

    /// <summary>Beat-regularity flag threshold: fraction (0–1) of RR intervals within [200, 3000] ms.</summary>
    public double BeatRegularityLimit { get; init; } = 0.8;
}
