using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Beats;

/// <summary>
/// The preprocessing of one beat for the beat models: filter, rate, window, normalisation and RR features.
/// <see cref="Version1"/>, <see cref="Version2"/> and <see cref="Version3"/> hold the values of docs/beat-model-contract.md; a model states the
/// version it was trained on.
/// </summary>
public sealed record BeatWindowSpec
{
    private static readonly string[] BaseRrNames = ["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"];
    private static readonly string[] LongRrNames = [.. BaseRrNames, "long_rr_s", "pre_long_ratio", "post_long_ratio"];

    /// <summary>Spec version 1 (the contract's table): 2 channels, 6 RR features.</summary>
    public static BeatWindowSpec Version1 { get; } = new()
    {
        Version = 1,
        SampleRateHz = 180,
        WindowSamples = 128,
        SamplesBeforeFiducial = 54,
        BaselineCutoffHz = 0.5,
        BaselineOrder = 2,
        LowPassCutoffHz = 35,
        LowPassOrder = 4,
        FiducialDelayFrequencyHz = 10,
        TemplateBeats = 16,
        AmplitudeBeats = 32,
        AmplitudeFloorMv = 0.05,
        LocalRrIntervals = 10,
    };

    /// <summary>
    /// Spec version 2: version 1 plus patient context, computed causally per stream: channel 2 is this beat minus the
    /// previous beat (channel 0 of both), channel 3 is this beat minus the long-term dominant morphology (the element-wise
    /// median of the previous up to 128 normalised windows).
    /// </summary>
    public static BeatWindowSpec Version2 { get; } = Version1 with
    {
        Version = 2,
        PreviousBeatChannel = true,
        LongTemplateBeats = 128,
        LongRrIntervals = 100,
    };

    /// <summary>
    /// Spec version 3: version 2 with each stream's polarity fixed so that its dominant QRS points up. Every channel of a
    /// window is multiplied by the stream's polarity sign, read from the long template around the fiducial with hysteresis
    /// (<see cref="DominantPolarityUp"/>). A lead recorded the other way round (an electrode swap, a database whose rhythm
    /// lead points down) gives exactly the same windows.
    /// </summary>
    public static BeatWindowSpec Version3 { get; } = Version2 with
    {
        Version = 3,
        DominantPolarityUp = true,
    };

    /// <summary>The spec of a version number.</summary>
    /// <param name="version">1, 2 or 3.</param>
    /// <returns><see cref="Version1"/>, <see cref="Version2"/> or <see cref="Version3"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No spec has that version.</exception>
    public static BeatWindowSpec FromVersion(int version) => version switch
    {
        1 => Version1,
        2 => Version2,
        3 => Version3,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "Beat window spec versions are 1, 2 and 3."),
    };

    /// <summary>
    /// The spec's name on the bus (<c>BeatsAcquired.FeatureSpec</c>, <c>ClassifyBeatsRequest.FeatureSpec</c>):
    /// <c>beat-window-v1</c>, <c>beat-window-v2</c>, <c>beat-window-v3</c>.
    /// </summary>
    public string FeatureSpecName => $"beat-window-v{Version.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The spec that a bus name (<see cref="FeatureSpecName"/>) stands for.</summary>
    /// <param name="name">A name such as <c>beat-window-v2</c>.</param>
    /// <param name="spec">The spec, when the name is known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryFromFeatureSpecName(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BeatWindowSpec? spec)
    {
        spec = name switch
        {
            "beat-window-v1" => Version1,
            "beat-window-v2" => Version2,
            "beat-window-v3" => Version3,
            _ => null,
        };
        return spec is not null;
    }

    /// <summary>
    /// Number of channels of a beat window: the normalised beat and its difference from the stream's template, then the
    /// difference from the previous beat and from the long template where the spec has them.
    /// </summary>
    public int Channels => 2 + (PreviousBeatChannel ? 1 : 0) + (LongTemplateBeats > 0 ? 1 : 0);

    /// <summary>Index of the previous-beat channel, or −1 when the spec has none.</summary>
    public int PreviousBeatChannelIndex => PreviousBeatChannel ? 2 : -1;

    /// <summary>Index of the long-template channel, or −1 when the spec has none.</summary>
    public int LongTemplateChannelIndex => LongTemplateBeats > 0 ? Channels - 1 : -1;

    /// <summary>The RR feature names, in the order of <see cref="BeatFeatures.Rr"/>.</summary>
    public IReadOnlyList<string> RrFeatureNames => LongRrIntervals > 0 ? LongRrNames : BaseRrNames;

    /// <summary>Number of RR features per beat (see <see cref="RrFeatureNames"/>).</summary>
    public int RrFeatureCount => RrFeatureNames.Count;

    /// <summary>Whether the window has the previous-beat channel (this beat's channel 0 minus the previous beat's; zeros for the first).</summary>
    public bool PreviousBeatChannel { get; init; }

    /// <summary>
    /// Previous normalised windows (at most) whose element-wise median is the long template of the last channel, the
    /// stream's dominant morphology; 0 for no such channel.
    /// </summary>
    public int LongTemplateBeats { get; init; }

    /// <summary>
    /// RR intervals (at most) ending at a beat whose median is the long RR baseline <c>long_rr_s</c>, which adds
    /// <c>long_rr_s</c>, <c>pre_rr / long_rr</c> and <c>post_rr / long_rr</c> to the RR features; 0 for none.
    /// </summary>
    public int LongRrIntervals { get; init; }

    /// <summary>
    /// Whether each stream's windows are turned so that its dominant QRS points up: every channel is multiplied by the
    /// stream's polarity sign. The sign is read from the long template (the beat's own window for a stream's first beat)
    /// within <see cref="PolaritySearchSeconds"/> of the fiducial: P is its largest value there and N minus its smallest.
    /// The first beat sets +1 when P ≥ N, else −1; afterwards the sign turns only when the other side exceeds the current
    /// one by <see cref="PolarityHysteresis"/>, so that a biphasic QRS does not flip its stream back and forth.
    /// Needs the long template (<see cref="LongTemplateBeats"/> above 0).
    /// </summary>
    public bool DominantPolarityUp { get; init; }

    /// <summary>Half-width, in seconds, of the span around the fiducial where the polarity is read.</summary>
    public double PolaritySearchSeconds { get; init; } = 0.05;

    /// <summary>How many times the other side's deflection must exceed the current side's before the sign turns.</summary>
    public double PolarityHysteresis { get; init; } = 1.2;

    /// <summary>The span around the fiducial where the polarity is read, in samples at <see cref="SampleRateHz"/> either side.</summary>
    public int PolaritySearchSamples => (int)Math.Round(PolaritySearchSeconds * SampleRateHz);

    /// <summary>Spec version number.</summary>
    public required int Version { get; init; }

    /// <summary>Rate of the beat windows in Hz (the signal is resampled to it).</summary>
    public required double SampleRateHz { get; init; }

    /// <summary>Window length in samples at <see cref="SampleRateHz"/>.</summary>
    public required int WindowSamples { get; init; }

    /// <summary>Samples of the window before the fiducial; the fiducial sits at this index of the window.</summary>
    public required int SamplesBeforeFiducial { get; init; }

    /// <summary>Baseline high-pass cutoff in Hz, applied at the input rate.</summary>
    public required double BaselineCutoffHz { get; init; }

    /// <summary>Butterworth order of the baseline high-pass.</summary>
    public required int BaselineOrder { get; init; }

    /// <summary>Low-pass cutoff in Hz, applied at the input rate (it also removes 50 and 60 Hz mains, so there is no notch).</summary>
    public required double LowPassCutoffHz { get; init; }

    /// <summary>Butterworth order of the low-pass.</summary>
    public required int LowPassOrder { get; init; }

    /// <summary>Frequency in Hz at which the filter's group delay is taken to shift the fiducial (the QRS band).</summary>
    public required double FiducialDelayFrequencyHz { get; init; }

    /// <summary>Previous normalised windows (at most) whose element-wise median is the template of channel 1.</summary>
    public required int TemplateBeats { get; init; }

    /// <summary>Beats (at most, this one included) whose median peak-to-peak amplitude is the amplitude reference.</summary>
    public required int AmplitudeBeats { get; init; }

    /// <summary>Floor of the amplitude reference in mV, so that a flat lead is not blown up.</summary>
    public required double AmplitudeFloorMv { get; init; }

    /// <summary>RR intervals (at most) ending at a beat whose mean is <c>local_rr_s</c>.</summary>
    public required int LocalRrIntervals { get; init; }

    /// <summary>Samples of the window from the fiducial on: <see cref="WindowSamples"/> − <see cref="SamplesBeforeFiducial"/>.</summary>
    public int SamplesFromFiducial => WindowSamples - SamplesBeforeFiducial;

    /// <summary>Length of a beat's <see cref="BeatFeatures.Window"/>: <see cref="Channels"/> × <see cref="WindowSamples"/>.</summary>
    public int FeatureLength => Channels * WindowSamples;

    /// <summary>The filter chain settings at the input rate: baseline high-pass, no mains notch, low-pass.</summary>
    /// <returns>Options for <see cref="EcgFilterChain"/>.</returns>
    public EcgFilterOptions FilterOptions() => new()
    {
        BaselineCutoffHz = BaselineCutoffHz,
        BaselineOrder = BaselineOrder,
        MainsHz = null,
        LowPassCutoffHz = LowPassCutoffHz,
        LowPassOrder = LowPassOrder,
        PrimeWithFirstSample = true,
    };

    /// <summary>Checks that the values make a usable spec.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (!(SampleRateHz > 0) || !double.IsFinite(SampleRateHz))
        {
            throw new ArgumentException($"The window rate must be a positive number of Hz; got {SampleRateHz}.", nameof(SampleRateHz));
        }

        if (WindowSamples < 2 || SamplesBeforeFiducial < 0 || SamplesBeforeFiducial >= WindowSamples)
        {
            throw new ArgumentException(
                $"The window needs at least 2 samples and the fiducial inside it; got {WindowSamples} samples with {SamplesBeforeFiducial} before the fiducial.",
                nameof(WindowSamples));
        }

        if (TemplateBeats < 1 || AmplitudeBeats < 1 || LocalRrIntervals < 1)
        {
            throw new ArgumentException(
                $"TemplateBeats ({TemplateBeats}), AmplitudeBeats ({AmplitudeBeats}) and LocalRrIntervals ({LocalRrIntervals}) must be at least 1.",
                nameof(TemplateBeats));
        }

        if (LongTemplateBeats < 0 || LongRrIntervals < 0)
        {
            throw new ArgumentException(
                $"LongTemplateBeats ({LongTemplateBeats}) and LongRrIntervals ({LongRrIntervals}) must be 0 (none) or more.",
                nameof(LongTemplateBeats));
        }

        if (DominantPolarityUp && (LongTemplateBeats < 1 || !(PolaritySearchSeconds >= 0) || !double.IsFinite(PolaritySearchSeconds)
            || !(PolarityHysteresis >= 1) || !double.IsFinite(PolarityHysteresis)))
        {
            throw new ArgumentException(
                $"Polarity needs the long template (LongTemplateBeats {LongTemplateBeats}), a search span of 0 s or more ({PolaritySearchSeconds}) and a hysteresis of 1 or more ({PolarityHysteresis}).",
                nameof(DominantPolarityUp));
        }

        if (!(AmplitudeFloorMv > 0) || !double.IsFinite(AmplitudeFloorMv))
        {
            throw new ArgumentException($"The amplitude floor must be a positive number of mV; got {AmplitudeFloorMv}.", nameof(AmplitudeFloorMv));
        }

        if (!(FiducialDelayFrequencyHz > 0) || !double.IsFinite(FiducialDelayFrequencyHz))
        {
            throw new ArgumentException($"The fiducial delay frequency must be a positive number of Hz; got {FiducialDelayFrequencyHz}.", nameof(FiducialDelayFrequencyHz));
        }
    }
}
