using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Beats;

/// <summary>
/// The preprocessing of one beat for the beat models: filter, rate, window, normalisation and RR features.
/// <see cref="Version1"/> holds the values of docs/beat-model-contract.md; a model states the version it was trained on.
/// </summary>
public sealed record BeatWindowSpec
{
    /// <summary>Number of channels of a beat window: the normalised beat and its difference from the stream's template.</summary>
    public const int Channels = 2;

    /// <summary>Number of RR features per beat (see <see cref="RrFeatureNames"/>).</summary>
    public const int RrFeatureCount = 6;

    /// <summary>Spec version 1 (the contract's table).</summary>
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

    /// <summary>The RR feature names, in the order of <see cref="BeatFeatures.Rr"/>.</summary>
    public static IReadOnlyList<string> RrFeatureNames { get; } =
        ["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"];

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
