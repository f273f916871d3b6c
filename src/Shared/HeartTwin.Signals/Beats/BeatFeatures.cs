namespace HeartTwin.Signals.Beats;

/// <summary>The model input for one beat, as <see cref="BeatFeatureExtractor"/> computes it.</summary>
public sealed class BeatFeatures
{
    /// <summary>Creates the features of one beat.</summary>
    /// <param name="sampleIndex">The detected beat's sample index at the input rate, from the stream's start.</param>
    /// <param name="window">Channels × window samples, row-major (channel 0 first), dimensionless (mV over the amplitude reference).</param>
    /// <param name="rr">The <see cref="BeatWindowSpec.RrFeatureCount"/> RR features (seconds, then ratios).</param>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    public BeatFeatures(long sampleIndex, float[] window, float[] rr)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(rr);
        SampleIndex = sampleIndex;
        Window = window;
        Rr = rr;
    }

    /// <summary>The detected beat's sample index at the input rate, counted from the first sample of the stream.</summary>
    public long SampleIndex { get; }

    /// <summary>
    /// The beat window, <see cref="BeatWindowSpec.Channels"/> × <see cref="BeatWindowSpec.WindowSamples"/> row-major:
    /// channel 0 is the window minus its median over the amplitude reference, channel 1 is channel 0 minus the
    /// stream's template (the element-wise median of the previous normalised windows); spec v2 adds channel 0 minus
    /// the previous beat's channel 0, and channel 0 minus the long template. Dimensionless.
    /// </summary>
    public float[] Window { get; }

    /// <summary>
    /// RR features in the order of <see cref="BeatWindowSpec.RrFeatureNames"/>: pre_rr_s, post_rr_s, local_rr_s (seconds),
    /// pre_rr/local_rr, post_rr/local_rr, post_rr/pre_rr; with a long RR baseline also long_rr_s (seconds), pre_rr/long_rr
    /// and post_rr/long_rr.
    /// </summary>
    public float[] Rr { get; }
}
