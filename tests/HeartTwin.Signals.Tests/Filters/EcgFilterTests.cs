using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Tests.Filters;

public class EcgFilterTests
{
    private static float[] Run(SosFilter filter, float[] x)
    {
        var y = new float[x.Length];
        filter.Process(x, y);
        return y;
    }

    [Theory]
    [InlineData(250.0, 50.0)]
    [InlineData(360.0, 50.0)]
    [InlineData(500.0, 50.0)]
    [InlineData(1000.0, 50.0)]
    [InlineData(128.0, 50.0)]
    [InlineData(128.0, 60.0)]
    [InlineData(360.0, 60.0)]
    public void Notch_removes_mains_by_at_least_40_dB(double fs, double mains)
    {
        var notch = EcgFilters.MainsNotch(fs, mains, includeHarmonic: false)!;

        notch.MagnitudeDb(mains, fs).ShouldBeLessThan(-40);
        double measured = Tone.GainDb(Run(notch, Tone.Sine(mains, fs, (int)(10 * fs))), mains, fs);
        measured.ShouldBeLessThan(-40);
    }

    [Theory]
    [InlineData(250.0)]
    [InlineData(360.0)]
    [InlineData(500.0)]
    [InlineData(1000.0)]
    public void Notch_removes_50_Hz_mains_and_its_harmonic_but_loses_under_half_a_dB_away_from_them(double fs)
    {
        var notch = EcgFilters.MainsNotch(fs, 50)!;
        notch.SectionCount.ShouldBe(2);

        foreach (double f in new[] { 50.0, 100.0 })
        {
            Tone.GainDb(Run(notch.Clone(), Tone.Sine(f, fs, (int)(10 * fs))), f, fs).ShouldBeLessThan(-40);
        }

        // 25 Hz (f0/2), 45 and 55 Hz (f0 ± 5 Hz) and, where it fits, 150 Hz (3·f0, beyond both notches).
        foreach (double f in new[] { 25.0, 45.0, 55.0, 150.0 })
        {
            if (f >= fs / 2)
            {
                continue;
            }

            double measured = Tone.GainDb(Run(notch.Clone(), Tone.Sine(f, fs, (int)(10 * fs))), f, fs);
            measured.ShouldBeGreaterThan(-0.5, $"{f} Hz at {fs} Hz");
            measured.ShouldBe(notch.MagnitudeDb(f, fs), 0.005);
        }
    }

    [Theory]
    [InlineData(128.0)]
    [InlineData(250.0)]
    [InlineData(360.0)]
    [InlineData(500.0)]
    [InlineData(1000.0)]
    public void Baseline_high_pass_removes_0_2_Hz_wander_and_passes_10_Hz_within_0_1_dB(double fs)
    {
        var hp = EcgFilters.BaselineWander(fs);

        // Order-2 Butterworth at 0.5 Hz: |H(0.2 Hz)|² = 1/(1 + (tan(π0.5/fs)/tan(π0.2/fs))⁴) ≈ −16.0 dB.
        double ratio = Math.Tan(Math.PI * 0.5 / fs) / Math.Tan(Math.PI * 0.2 / fs);
        double expectedWander = -10 * Math.Log10(1 + Math.Pow(ratio, 4));
        expectedWander.ShouldBe(-16.0, 0.1);

        // 60 s of signal; the fit over the last 30 s (6 periods of 0.2 Hz) is past the start-up transient.
        double wander = Tone.GainDb(Run(hp.Clone(), Tone.Sine(0.2, fs, (int)(60 * fs))), 0.2, fs);
        wander.ShouldBe(expectedWander, 0.05);
        double pass = Tone.GainDb(Run(hp.Clone(), Tone.Sine(10, fs, (int)(10 * fs))), 10, fs);
        pass.ShouldBe(0, 0.1);
    }

    [Theory]
    [InlineData(100.0)]
    [InlineData(128.0)]
    [InlineData(250.0)]
    [InlineData(360.0)]
    [InlineData(500.0)]
    [InlineData(1000.0)]
    public void Chain_passes_the_ECG_band_and_rejects_mains_and_wander_at_every_rate(double fs)
    {
        foreach (double? mains in new double?[] { 50.0, 60.0 })
        {
            var options = new EcgFilterOptions { MainsHz = mains };
            foreach (double f in new[] { 5.0, 10.0, 20.0 })
            {
                var chain = new EcgFilterChain(fs, options);
                var x = Tone.Sine(f, fs, (int)(10 * fs));
                chain.Process(x, x);
                Tone.GainDb(x, f, fs).ShouldBe(0, 0.1, $"{f} Hz at {fs} Hz, mains {mains}");
            }

            var wanderChain = new EcgFilterChain(fs, options);
            var wander = Tone.Sine(0.2, fs, (int)(60 * fs));
            wanderChain.Process(wander, wander);
            Tone.GainDb(wander, 0.2, fs).ShouldBeLessThan(-15);

            if (mains < fs / 2)
            {
                var mainsChain = new EcgFilterChain(fs, options);
                var hum = Tone.Sine(mains.Value, fs, (int)(10 * fs));
                mainsChain.Process(hum, hum);
                Tone.GainDb(hum, mains.Value, fs).ShouldBeLessThan(-40);
            }
        }
    }

    [Theory]
    [InlineData(100.0, 50.0, new double[0])]
    [InlineData(128.0, 50.0, new[] { 50.0 })]
    [InlineData(128.0, 60.0, new[] { 60.0 })]
    [InlineData(250.0, 60.0, new[] { 60.0, 120.0 })]
    [InlineData(360.0, 50.0, new[] { 50.0, 100.0 })]
    [InlineData(200.0, 50.0, new[] { 50.0 })]
    public void Chain_notches_the_harmonic_only_when_it_fits_below_Nyquist(double fs, double mains, double[] expected)
    {
        new EcgFilterChain(fs, new EcgFilterOptions { MainsHz = mains }).NotchFrequenciesHz.ShouldBe(expected);
    }

    [Fact]
    public void Low_pass_cutoff_is_clamped_below_Nyquist_for_low_sample_rates()
    {
        EcgFilters.ClampLowPass(40, 100).ShouldBe(40);
        EcgFilters.ClampLowPass(60, 128).ShouldBe(51.2, 1e-12);
        new EcgFilterChain(128, new EcgFilterOptions { LowPassCutoffHz = 100 }).LowPassCutoffHz!.Value.ShouldBe(51.2, 1e-12);
        EcgFilters.LowPass(128, 100).MagnitudeDb(51.2, 128).ShouldBe(10 * Math.Log10(0.5), 1e-9);
    }

    [Fact]
    public void Chain_primed_with_its_first_sample_shows_no_start_up_transient_for_a_DC_offset()
    {
        var x = Enumerable.Repeat(1000f, 3600).ToArray();

        var primed = new EcgFilterChain(360);
        var y = new float[x.Length];
        primed.Process(x, y);
        y.Max(Math.Abs).ShouldBeLessThan(1e-3f);

        var unprimed = new EcgFilterChain(360, new EcgFilterOptions { PrimeWithFirstSample = false });
        unprimed.Process(x, y);
        y.Max(Math.Abs).ShouldBeGreaterThan(500f);
    }

    [Fact]
    public void Chain_gives_the_same_output_in_chunks_per_sample_and_whole()
    {
        var rng = new Random(7);
        var x = Enumerable.Range(0, 5000).Select(i => (float)(Math.Sin(i * 0.05) + (0.3 * rng.NextDouble()) + 2)).ToArray();

        var whole = new float[x.Length];
        new EcgFilterChain(360).Process(x, whole);

        var chain = new EcgFilterChain(360);
        var chunked = new float[x.Length];
        int pos = 0;
        while (pos < x.Length)
        {
            int n = Math.Min(rng.Next(0, 300), x.Length - pos);
            chain.Process(x.AsSpan(pos, n), chunked.AsSpan(pos, n));
            pos += n;
        }

        var single = new EcgFilterChain(360);
        var perSample = x.Select(single.Process).ToArray();

        chunked.ShouldBe(whole);
        perSample.ShouldBe(whole);
    }

    [Fact]
    public void Chain_with_every_stage_off_passes_the_signal_through()
    {
        var chain = new EcgFilterChain(250, new EcgFilterOptions { BaselineCutoffHz = null, MainsHz = null, LowPassCutoffHz = null });

        chain.Process(1.25f).ShouldBe(1.25f);
        chain.Process(-3f).ShouldBe(-3f);
    }

    [Fact]
    public void Chain_reports_its_delay_and_response()
    {
        var chain = new EcgFilterChain(360);

        chain.MagnitudeDb(10).ShouldBe(0, 0.1);
        chain.MagnitudeDb(50).ShouldBeLessThan(-40);
        chain.GroupDelaySamples(10).ShouldBeInRange(2.0, 10.0);
        chain.Filter.SectionCount.ShouldBe(5);
    }

    [Fact]
    public void Chain_rejects_bad_settings()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new EcgFilterChain(0));
        Should.Throw<ArgumentOutOfRangeException>(() => new EcgFilterChain(360, new EcgFilterOptions { BaselineCutoffHz = 50, LowPassCutoffHz = 40 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new EcgFilterChain(360, new EcgFilterOptions { MainsHz = -50 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new EcgFilterChain(360, new EcgFilterOptions { LowPassOrder = 0 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new EcgFilterChain(360, new EcgFilterOptions { MainsQuality = 0 }));
    }
}
