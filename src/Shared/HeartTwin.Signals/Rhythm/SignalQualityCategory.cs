namespace HeartTwin.Signals.Rhythm;

/// <summary>Overall verdict on a window of ECG.</summary>
public enum SignalQualityCategory
{
    /// <summary>Not fit for rhythm analysis: lead off, saturated, out of range, or dominated by noise.</summary>
    Unusable = 0,

    /// <summary>Usable with care: at least one feature is flagged or the score is middling.</summary>
    Acceptable = 1,

    /// <summary>Clean: high score and no flagged feature.</summary>
    Good = 2,
}
