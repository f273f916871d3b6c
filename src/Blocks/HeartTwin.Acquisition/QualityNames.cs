using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Acquisition;

/// <summary>The wire names of signal-quality categories and issues in <c>WindowAcquired</c>.</summary>
internal static class QualityNames
{
    private static readonly (SignalQualityIssues Flag, string Name)[] IssueNames =
    [
        (SignalQualityIssues.TooShort, "too-short"),
        (SignalQualityIssues.NonFinite, "non-finite"),
        (SignalQualityIssues.FlatLine, "flatline"),
        (SignalQualityIssues.Clipping, "saturation"),
        (SignalQualityIssues.AmplitudeTooLow, "amplitude-low"),
        (SignalQualityIssues.AmplitudeTooHigh, "amplitude-high"),
        (SignalQualityIssues.HighFrequencyNoise, "noise"),
        (SignalQualityIssues.BaselineWander, "baseline-wander"),
        (SignalQualityIssues.LowKurtosis, "low-kurtosis"),
        (SignalQualityIssues.IrregularBeats, "irregular-beats"),
    ];

    /// <summary>"good", "acceptable" or "unusable".</summary>
    public static string Category(SignalQualityCategory category) => category switch
    {
        SignalQualityCategory.Good => "good",
        SignalQualityCategory.Acceptable => "acceptable",
        _ => "unusable",
    };

    /// <summary>The names of the flags set, in a fixed order; empty for none.</summary>
    public static string[] Issues(SignalQualityIssues issues)
    {
        if (issues == SignalQualityIssues.None)
        {
            return [];
        }

        var names = new List<string>(2);
        foreach (var (flag, name) in IssueNames)
        {
            if ((issues & flag) != 0)
            {
                names.Add(name);
            }
        }

        return [.. names];
    }
}
