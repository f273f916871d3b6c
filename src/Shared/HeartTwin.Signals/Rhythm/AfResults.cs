namespace HeartTwin.Signals.Rhythm;

/// <summary>The AF decision for one beat, reported by <see cref="AfDetector"/> at most <see cref="AfDetectorOptions.MaxDelayBeats"/> beats after it.</summary>
/// <param name="BeatIndex">The beat's position in the stream, counting from 0.</param>
/// <param name="TimeSeconds">The beat's time, in seconds, as given to the detector.</param>
/// <param name="IsAf">Whether the beat lies in a detected AF episode (it ends the RR interval that was judged).</param>
/// <param name="Statistic">The fused irregularity statistic O of Petrėnas et al. (2015), in 1/s (compared with
/// <see cref="AfDetectorOptions.DecisionThreshold"/>); NaN while fewer RR intervals than the irregularity window have been seen.</param>
/// <param name="Entropy">The coefficient of sample entropy (COSEn) of the RR intervals around the beat; NaN when not computed,
/// +∞ when no RR pattern repeats.</param>
public readonly record struct AfBeat(long BeatIndex, double TimeSeconds, bool IsAf, double Statistic, double Entropy);

/// <summary>Whether an AF episode began or ended.</summary>
public enum AfEventKind
{
    /// <summary>An AF episode began.</summary>
    Onset,

    /// <summary>An AF episode ended.</summary>
    Offset,
}

/// <summary>The start or end of an AF episode.</summary>
/// <param name="Kind">Onset or offset.</param>
/// <param name="BeatIndex">For an onset, the first beat of the episode; for an offset, the first beat after it.</param>
/// <param name="TimeSeconds">That beat's time, in seconds.</param>
/// <param name="DetectedAtSeconds">The time of the beat on whose arrival the detector reported the event, in seconds:
/// the difference from <paramref name="TimeSeconds"/> is the detection delay.</param>
public readonly record struct AfEpisodeEvent(AfEventKind Kind, long BeatIndex, double TimeSeconds, double DetectedAtSeconds);

/// <summary>The AF analysis of a whole beat series.</summary>
/// <param name="Beats">One decision per beat, in order.</param>
/// <param name="Events">Episode onsets and offsets, in order.</param>
public sealed record AfAnalysis(IReadOnlyList<AfBeat> Beats, IReadOnlyList<AfEpisodeEvent> Events);
