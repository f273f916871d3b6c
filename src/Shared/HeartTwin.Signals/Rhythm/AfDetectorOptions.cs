namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Settings of <see cref="AfDetector"/>. The irregularity constants are those of Petrėnas, Marozas and Sörnmo (2015),
/// the entropy constants those of Lake and Moorman (2011); the remaining three (look-ahead, minimum episode, boundary
/// refinement) are this implementation's. See <c>docs/af-detector.md</c> for the sources and the reasons.
/// </summary>
public sealed record AfDetectorOptions
{
    /// <summary>
    /// Length N of the sliding window over which RR irregularity is counted, in intervals.
    /// Petrėnas et al. 2015: N = 8, chosen so that brief episodes are detected.
    /// </summary>
    public int IrregularityWindowBeats { get; init; } = 8;

    /// <summary>
    /// Tolerance γ, in seconds: two median-filtered RR intervals of the window count as different when they differ by at
    /// least this much. Petrėnas et al. 2015: γ = 30 ms.
    /// </summary>
    public double IrregularityToleranceSeconds { get; init; } = 0.030;

    /// <summary>
    /// Smoothing factor α of the exponential averagers of the RR trend, the irregularity and the bigeminy measure
    /// (time constant about 1/α beats). Petrėnas et al. 2015: α = 0.02.
    /// </summary>
    public double SmoothingFactor { get; init; } = 0.02;

    /// <summary>
    /// Threshold δ on the smoothed bigeminy measure: below it the rhythm is judged regular or bigeminal and the
    /// decision statistic takes the (small) bigeminy value instead of the irregularity. Petrėnas et al. 2015: δ = 2·10⁻⁴.
    /// </summary>
    public double BigeminyThreshold { get; init; } = 2e-4;

    /// <summary>
    /// Decision threshold η on the fused statistic (irregularity over the RR trend in seconds, so in 1/s).
    /// Petrėnas et al. 2015: η = 0.725.
    /// </summary>
    public double DecisionThreshold { get; init; } = 0.725;

    /// <summary>Whether the coefficient of sample entropy must confirm each AF decision (see <see cref="EntropyThreshold"/>).</summary>
    public bool UseEntropyConfirmation { get; init; } = true;

    /// <summary>
    /// Number of RR intervals in the (centred) window over which the coefficient of sample entropy (COSEn) is computed.
    /// Lake and Moorman (2011) used 12–16 beats with a tolerance that grows until enough matches are found; a fixed
    /// tolerance over 32 beats gives the same confidence in the match counts.
    /// </summary>
    public int EntropyWindowBeats { get; init; } = 32;

    /// <summary>Matching tolerance r of the sample entropy (template length m = 1), in seconds. Lake and Moorman 2011: r = 30 ms.</summary>
    public double EntropyToleranceSeconds { get; init; } = 0.030;

    /// <summary>COSEn above which the rhythm may be AF. Lake and Moorman 2011: −1.4 (COSEn with RR in seconds).</summary>
    public double EntropyThreshold { get; init; } = -1.4;

    /// <summary>
    /// How many intervals after an interval the detector waits before deciding it, so that the exponential averagers can
    /// be run backwards as well as forwards (zero-phase smoothing, which removes the averagers' lag of about 1/α beats).
    /// Must be at least half of <see cref="EntropyWindowBeats"/>.
    /// </summary>
    public int LookAheadBeats { get; init; } = 32;

    /// <summary>
    /// Shortest run of consecutive AF decisions that makes an episode, in beats; shorter runs are reported as not AF.
    /// 32 beats is about 20–30 s at the rates of AF, close to the 30 s with which guidelines define an AF episode.
    /// </summary>
    public int MinEpisodeBeats { get; init; } = 32;

    /// <summary>
    /// How far, in beats, an episode's edges may move to where the unsmoothed irregularity starts and stops. The
    /// smoothed statistic crosses its threshold some beats after a true onset or offset; this recovers those beats.
    /// 0 turns refinement off.
    /// </summary>
    public int BoundaryRefinementBeats { get; init; } = 32;

    /// <summary>
    /// Longest run of consecutive ventricular beats (flagged by the caller, from a beat classifier) that the detector moves to
    /// even spacing between the supraventricular beats around it, so that ectopy does not read as irregular atrial
    /// rhythm. A longer run is a rhythm of its own (ventricular tachycardia) and is left as it is. 0 turns it off. The
    /// median filter of Petrėnas et al. removes an isolated premature beat only; couplets, trigeminy and variable coupling
    /// (MIT-BIH 106, 208) passed through it as false AF. Beats not flagged ventricular are never moved.
    /// </summary>
    public int MaxEctopicRunBeats { get; init; } = 8;

    /// <summary>The longest delay, in beats, between a beat's arrival and the final report of its AF flag.</summary>
    public int MaxDelayBeats => LookAheadBeats + MinEpisodeBeats + BoundaryRefinementBeats + MaxEctopicRunBeats + 1;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range.</exception>
    public void Validate()
    {
        Require(IrregularityWindowBeats is >= 2 and <= 64, nameof(IrregularityWindowBeats), IrregularityWindowBeats, "2..64");
        Require(IrregularityToleranceSeconds > 0 && double.IsFinite(IrregularityToleranceSeconds), nameof(IrregularityToleranceSeconds), IrregularityToleranceSeconds, "> 0");
        Require(SmoothingFactor is > 0 and <= 1, nameof(SmoothingFactor), SmoothingFactor, "(0, 1]");
        Require(BigeminyThreshold >= 0 && double.IsFinite(BigeminyThreshold), nameof(BigeminyThreshold), BigeminyThreshold, ">= 0");
        Require(DecisionThreshold > 0 && double.IsFinite(DecisionThreshold), nameof(DecisionThreshold), DecisionThreshold, "> 0");
        Require(EntropyWindowBeats is >= 4 and <= 256, nameof(EntropyWindowBeats), EntropyWindowBeats, "4..256");
        Require(EntropyToleranceSeconds > 0 && double.IsFinite(EntropyToleranceSeconds), nameof(EntropyToleranceSeconds), EntropyToleranceSeconds, "> 0");
        Require(double.IsFinite(EntropyThreshold), nameof(EntropyThreshold), EntropyThreshold, "finite");
        Require(LookAheadBeats is >= 0 and <= 1024, nameof(LookAheadBeats), LookAheadBeats, "0..1024");
        Require(!UseEntropyConfirmation || LookAheadBeats >= EntropyWindowBeats / 2, nameof(LookAheadBeats), LookAheadBeats, $">= EntropyWindowBeats / 2 = {EntropyWindowBeats / 2}");
        Require(MinEpisodeBeats is >= 1 and <= 1024, nameof(MinEpisodeBeats), MinEpisodeBeats, "1..1024");
        Require(BoundaryRefinementBeats is >= 0 and <= 1024, nameof(BoundaryRefinementBeats), BoundaryRefinementBeats, "0..1024");
        Require(MaxEctopicRunBeats is >= 0 and <= 64, nameof(MaxEctopicRunBeats), MaxEctopicRunBeats, "0..64");
    }

    private static void Require(bool ok, string name, object value, string range)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be {range}.");
        }
    }
}
