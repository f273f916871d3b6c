namespace HeartTwin.Signals.Rhythm;

/// <summary>Problems found in a window of ECG; several may be set at once.</summary>
[Flags]
public enum SignalQualityIssues
{
    /// <summary>No problem found.</summary>
    None = 0,

    /// <summary>The window is shorter than <see cref="SignalQualityOptions.MinWindowSeconds"/>; no feature was computed.</summary>
    TooShort = 1 << 0,

    /// <summary>The window contains NaN or infinite samples; no feature was computed.</summary>
    NonFinite = 1 << 1,

    /// <summary>Too much of the window is flat (lead off, disconnected electrode).</summary>
    FlatLine = 1 << 2,

    /// <summary>Too many samples sit on plateaus at the window's extreme values (amplifier saturation, ADC clipping).</summary>
    Clipping = 1 << 3,

    /// <summary>Peak-to-peak amplitude below the physiological range.</summary>
    AmplitudeTooLow = 1 << 4,

    /// <summary>Peak-to-peak amplitude above the physiological range.</summary>
    AmplitudeTooHigh = 1 << 5,

    /// <summary>Too much power above the high-frequency cut-off (muscle noise, mains, electrode motion).</summary>
    HighFrequencyNoise = 1 << 6,

    /// <summary>Too much power below the baseline cut-off (respiration, movement).</summary>
    BaselineWander = 1 << 7,

    /// <summary>Kurtosis below the clean-ECG level: the window looks like noise rather than sharp QRS complexes.</summary>
    LowKurtosis = 1 << 8,

    /// <summary>Too few of the supplied beats are separated by physiological RR intervals.</summary>
    IrregularBeats = 1 << 9,
}
