namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Time-domain heart-rate variability over normal-to-normal (NN) intervals, as defined by the Task Force of the
/// ESC and NASPE (1996). Metrics that need more intervals than were accepted are NaN.
/// </summary>
/// <param name="Count">Number of accepted NN intervals.</param>
/// <param name="MeanRrMs">Mean NN interval in ms (NaN when <paramref name="Count"/> is 0).</param>
/// <param name="SdnnMs">Sample standard deviation (n − 1) of the NN intervals in ms (NaN when <paramref name="Count"/> &lt; 2).</param>
/// <param name="RmssdMs">Root mean square of successive NN differences in ms (NaN without successive pairs).</param>
/// <param name="Pnn50Percent">Share of successive NN differences larger than 50 ms, in percent (NaN without successive pairs).</param>
/// <param name="MeanHeartRateBpm">60000 / <paramref name="MeanRrMs"/>, in beats per minute (NaN when <paramref name="Count"/> is 0).</param>
public sealed record HrvMetrics(int Count, double MeanRrMs, double SdnnMs, double RmssdMs, double Pnn50Percent, double MeanHeartRateBpm)
{
    /// <summary>Number of intervals left out: artefacts outside [200, 3000] ms, non-finite values, and intervals touching a non-normal beat.</summary>
    public int RejectedCount { get; init; }

    /// <summary>Number of successive differences behind <see cref="RmssdMs"/> and <see cref="Pnn50Percent"/>: pairs of accepted intervals that are adjacent in the input.</summary>
    public int SuccessiveDifferenceCount { get; init; }
}
