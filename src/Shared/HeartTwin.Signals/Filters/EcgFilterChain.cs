using System.Numerics;

namespace HeartTwin.Signals.Filters;

/// <summary>
/// Streaming, causal ECG conditioning for one lead: baseline-wander high-pass, mains notch(es), then low-pass,
/// fused into one cascade of second-order sections. Designed for sample rates from 100 to 1000 Hz.
/// </summary>
/// <remarks>
/// Per-sample processing does not allocate. One instance per lead: it carries that lead's state.
/// Being causal, the chain delays the signal; <see cref="GroupDelaySamples"/> gives the delay at a frequency
/// (about 4 samples, 12 ms, at 10 Hz for the defaults at 360 Hz).
/// </remarks>
public sealed class EcgFilterChain
{
    private readonly SosFilter _filter;
    private bool _primed;

    /// <summary>Designs the chain for <paramref name="sampleRateHz"/>.</summary>
    /// <param name="sampleRateHz">Sample rate in Hz, finite and positive.</param>
    /// <param name="options">Stage settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is outside its range for this sample rate, or every stage is switched off.</exception>
    public EcgFilterChain(double sampleRateHz, EcgFilterOptions? options = null)
    {
        FilterDesign.ValidateSampleRate(sampleRateHz);
        Options = options ?? new EcgFilterOptions();
        SampleRateHz = sampleRateHz;

        var sections = new List<Biquad>();
        if (Options.BaselineCutoffHz is double hp)
        {
            sections.AddRange(EcgFilters.BaselineWander(sampleRateHz, hp, Options.BaselineOrder).Sections);
        }

        var notches = new List<double>();
        if (Options.MainsHz is double mains)
        {
            foreach (var (centerHz, section) in EcgFilters.MainsSections(sampleRateHz, mains, Options.MainsQuality, Options.MainsHarmonic))
            {
                notches.Add(centerHz);
                sections.Add(section);
            }
        }

        if (Options.LowPassCutoffHz is double lp)
        {
            LowPassCutoffHz = EcgFilters.ClampLowPass(lp, sampleRateHz);
            if (Options.BaselineCutoffHz is double hpCut && !(hpCut < LowPassCutoffHz))
            {
                throw new ArgumentOutOfRangeException(nameof(options), lp,
                    $"The low-pass cutoff ({LowPassCutoffHz} Hz after clamping) must be above the baseline cutoff ({hpCut} Hz).");
            }

            sections.AddRange(EcgFilters.LowPass(sampleRateHz, lp, Options.LowPassOrder).Sections);
        }

        if (sections.Count == 0)
        {
            // Keep the chain usable as a pass-through rather than failing: configuration may switch every stage off.
            sections.Add(Biquad.Identity);
        }

        NotchFrequenciesHz = notches.ToArray();
        _filter = new SosFilter(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sections));
    }

    /// <summary>Sample rate in Hz the chain was designed for.</summary>
    public double SampleRateHz { get; }

    /// <summary>The settings used.</summary>
    public EcgFilterOptions Options { get; }

    /// <summary>Low-pass cutoff in Hz after clamping, or null when there is no low-pass.</summary>
    public double? LowPassCutoffHz { get; }

    /// <summary>Centres in Hz of the notches actually present (empty when none fit below Nyquist).</summary>
    public IReadOnlyList<double> NotchFrequenciesHz { get; }

    /// <summary>The fused cascade (for its response); processing through this object does not touch its state.</summary>
    public SosFilter Filter => _filter;

    /// <summary>Clears the state; with <see cref="EcgFilterOptions.PrimeWithFirstSample"/> the next sample primes it again.</summary>
    public void Reset()
    {
        _filter.Reset();
        _primed = false;
    }

    /// <summary>Filters one sample (signal units in, same units out).</summary>
    /// <param name="x">Input sample.</param>
    /// <returns>Filtered sample.</returns>
    public float Process(float x)
    {
        if (!_primed)
        {
            Prime(x);
        }

        return _filter.Process(x);
    }

    /// <summary>Filters a block, continuing from the current state; in-place allowed. Same result as per-sample calls.</summary>
    /// <param name="input">Input samples.</param>
    /// <param name="output">Receives one output per input; at least as long as <paramref name="input"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <paramref name="input"/>.</exception>
    public void Process(ReadOnlySpan<float> input, Span<float> output)
    {
        if (!_primed && !input.IsEmpty)
        {
            Prime(input[0]);
        }

        _filter.Process(input, output);
    }

    /// <summary>Complex response of the whole chain at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <returns>Complex gain.</returns>
    public Complex Response(double frequencyHz) => _filter.Response(frequencyHz, SampleRateHz);

    /// <summary>Gain of the whole chain in dB at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz.</param>
    /// <returns>Gain in dB.</returns>
    public double MagnitudeDb(double frequencyHz) => _filter.MagnitudeDb(frequencyHz, SampleRateHz);

    /// <summary>Group delay of the chain in samples at <paramref name="frequencyHz"/>.</summary>
    /// <param name="frequencyHz">Frequency in Hz (not a notch centre).</param>
    /// <returns>Delay in samples.</returns>
    public double GroupDelaySamples(double frequencyHz) => _filter.GroupDelaySamples(frequencyHz, SampleRateHz);

    private void Prime(float x)
    {
        if (Options.PrimeWithFirstSample)
        {
            _filter.Reset(x);
        }

        _primed = true;
    }
}
