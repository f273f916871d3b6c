using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Tests.Filters;

namespace HeartTwin.Signals.Tests.Resampling;

public class RationalResamplerTests
{
    [Theory]
    [InlineData(128.0, 360.0, 45, 16)]
    [InlineData(360.0, 128.0, 16, 45)]
    [InlineData(257.0, 360.0, 360, 257)]
    [InlineData(500.0, 250.0, 1, 2)]
    [InlineData(1000.0, 360.0, 9, 25)]
    [InlineData(360.0, 250.0, 25, 36)]
    [InlineData(360.0, 360.0, 1, 1)]
    [InlineData(128.5, 360.0, 720, 257)]
    [InlineData(0.5, 1.25, 5, 2)]
    public void Ratio_reduces_to_lowest_terms(double fin, double fout, int up, int down)
    {
        RationalResampler.ReduceRatio(fin, fout).ShouldBe((up, down));
        var r = new RationalResampler(fin, fout);
        (r.UpFactor, r.DownFactor).ShouldBe((up, down));
    }

    [Theory]
    [InlineData(128.0, 360.0, 10.0)]
    [InlineData(128.0, 360.0, 45.0)]
    [InlineData(257.0, 360.0, 10.0)]
    [InlineData(257.0, 360.0, 100.0)]
    [InlineData(500.0, 250.0, 10.0)]
    [InlineData(500.0, 250.0, 95.0)]
    [InlineData(360.0, 128.0, 10.0)]
    [InlineData(360.0, 128.0, 45.0)]
    [InlineData(1000.0, 360.0, 30.0)]
    [InlineData(360.0, 250.0, 40.0)]
    public void A_sine_keeps_its_amplitude_within_0_01_dB_and_its_phase_within_a_hundredth_of_a_sample(double fin, double fout, double f)
    {
        const double phase = 0.7;
        var x = Tone.Sine(f, fin, (int)(10 * fin), amplitude: 1.0, phase: phase);

        var y = RationalResampler.Resample(x, fin, fout);

        y.Length.ShouldBe(RationalResampler.OutputLength(x.Length, fin, fout));
        // Output sample k is time k/fout, so the same sine sampled at fout is expected. Fit away from the ends,
        // where the signal starts and stops abruptly.
        int edge = (int)fout;
        var (amplitude, measuredPhase) = Tone.Fit(y, f, fout, edge, y.Length - (2 * edge));
        (20 * Math.Log10(amplitude)).ShouldBe(0, 0.01);
        double shiftSamples = Tone.Wrap(measuredPhase - phase) / (2 * Math.PI * f / fout);
        shiftSamples.ShouldBe(0, 0.01);
    }

    [Fact]
    public void A_200_Hz_tone_resampled_from_500_to_250_Hz_is_suppressed_by_at_least_80_dB()
    {
        // 200 Hz is above the 125 Hz output Nyquist; unfiltered it would alias to 50 Hz at full amplitude.
        var x = Tone.Sine(200, 500, 5000);

        var y = RationalResampler.Resample(x, 500, 250);

        var (alias, _) = Tone.Fit(y, 50, 250, 250, y.Length - 500);
        (20 * Math.Log10(alias)).ShouldBeLessThan(-80);
        Rms(y.AsSpan(250, y.Length - 500)).ShouldBeLessThan(1e-3);
    }

    [Theory]
    [InlineData(360.0, 128.0, 100.0)]
    [InlineData(1000.0, 360.0, 300.0)]
    [InlineData(500.0, 250.0, 126.0)]
    [InlineData(360.0, 128.0, 64.5)]
    public void Tones_just_above_the_output_Nyquist_are_suppressed_by_at_least_75_dB(double fin, double fout, double f)
    {
        var x = Tone.Sine(f, fin, (int)(10 * fin));

        var y = RationalResampler.Resample(x, fin, fout);

        int edge = (int)fout;
        // The stopband starts at the output Nyquist frequency with a nominal 80 dB; allow the Kaiser estimate 5 dB.
        (20 * Math.Log10(Rms(y.AsSpan(edge, y.Length - (2 * edge))) * Math.Sqrt(2))).ShouldBeLessThan(-75);
    }

    [Fact]
    public void Upsampling_images_are_suppressed_by_at_least_75_dB()
    {
        // 30 Hz at 128 Hz upsampled to 360 Hz: images at 128 − 30 = 98 Hz and 128 + 30 = 158 Hz.
        var x = Tone.Sine(30, 128, 1280);

        var y = RationalResampler.Resample(x, 128, 360);

        foreach (double image in new[] { 98.0, 158.0 })
        {
            var (a, _) = Tone.Fit(y, image, 360, 360, y.Length - 720);
            (20 * Math.Log10(a)).ShouldBeLessThan(-75);
        }
    }

    [Theory]
    [InlineData(128.0, 360.0)]
    [InlineData(257.0, 360.0)]
    [InlineData(360.0, 128.0)]
    [InlineData(500.0, 250.0)]
    [InlineData(1000.0, 360.0)]
    public void Feeding_in_arbitrary_chunks_gives_exactly_the_same_output_as_feeding_whole(double fin, double fout)
    {
        var rng = new Random(11);
        var x = Enumerable.Range(0, 4000).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();

        var whole = new RationalResampler(fin, fout);
        var expected = new float[whole.MaxOutputLength(x.Length)];
        int expectedCount = whole.Process(x, expected);

        var chunked = new RationalResampler(fin, fout);
        var actual = new List<float>();
        var buffer = new float[chunked.MaxOutputLength(700)];
        int pos = 0;
        while (pos < x.Length)
        {
            int n = Math.Min(rng.Next(0, 700), x.Length - pos);
            int written = chunked.Process(x.AsSpan(pos, n), buffer);
            written.ShouldBeLessThanOrEqualTo(chunked.MaxOutputLength(n));
            actual.AddRange(buffer.AsSpan(0, written));
            pos += n;
        }

        actual.ToArray().ShouldBe(expected.AsSpan(0, expectedCount).ToArray());
    }

    [Theory]
    [InlineData(128.0, 360.0)]
    [InlineData(360.0, 128.0)]
    [InlineData(257.0, 360.0)]
    public void A_stream_of_n_inputs_yields_floor_of_n_L_minus_1_over_M_plus_1_outputs(double fin, double fout)
    {
        var r = new RationalResampler(fin, fout);
        var buffer = new float[r.MaxOutputLength(1)];
        long total = 0;
        for (int n = 1; n <= 1000; n++)
        {
            total += r.Process([0.5f], buffer);
            total.ShouldBe((((long)n * r.UpFactor) - 1) / r.DownFactor + 1);
        }
    }

    [Fact]
    public void Stream_delay_is_DelaySamples_output_samples()
    {
        // An impulse at input time 0 comes out as the filter's peak at output sample DelaySamples.
        var r = new RationalResampler(128, 360);
        var x = new float[400];
        x[0] = 1f;
        var y = new float[r.MaxOutputLength(x.Length)];
        int n = r.Process(x, y);

        int peak = 0;
        for (int i = 1; i < n; i++)
        {
            if (y[i] > y[peak])
            {
                peak = i;
            }
        }

        peak.ShouldBe(r.DelaySamples);
        r.DelaySeconds.ShouldBe(r.DelaySamples / 360.0);
        // The 0.8·Nyquist passband needs a filter of about 50 taps per phase, i.e. about 0.2 s of delay here.
        r.DelaySeconds.ShouldBeInRange(0.1, 0.3);
    }

    [Fact]
    public void Reset_restarts_the_stream()
    {
        var r = new RationalResampler(360, 250);
        var x = Tone.Sine(7, 360, 1000);
        var first = new float[r.MaxOutputLength(x.Length)];
        int n1 = r.Process(x, first);
        r.Reset();
        var second = new float[r.MaxOutputLength(x.Length)];
        int n2 = r.Process(x, second);

        n2.ShouldBe(n1);
        second.ShouldBe(first);
    }

    [Fact]
    public void Same_rate_resampling_reproduces_a_band_limited_signal()
    {
        var x = Tone.Sine(20, 360, 3600);

        var y = RationalResampler.Resample(x, 360, 360);

        y.Length.ShouldBe(x.Length);
        for (int i = 200; i < x.Length - 200; i++)
        {
            y[i].ShouldBe(x[i], 1e-3f);
        }
    }

    [Fact]
    public void Resampling_nothing_gives_nothing()
    {
        RationalResampler.Resample(ReadOnlySpan<float>.Empty, 360, 128).ShouldBeEmpty();
        new RationalResampler(360, 128).Process(ReadOnlySpan<float>.Empty, new float[1]).ShouldBe(0);
    }

    [Theory]
    [InlineData(0.0, 360.0)]
    [InlineData(-128.0, 360.0)]
    [InlineData(double.NaN, 360.0)]
    [InlineData(double.PositiveInfinity, 360.0)]
    [InlineData(360.0, 0.0)]
    [InlineData(360.0, -1.0)]
    [InlineData(360.0, double.NaN)]
    public void Bad_rates_throw_ArgumentOutOfRangeException(double fin, double fout)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new RationalResampler(fin, fout));
        Should.Throw<ArgumentOutOfRangeException>(() => RationalResampler.Resample(new float[10], fin, fout));
    }

    [Fact]
    public void A_ratio_needing_huge_factors_throws_ArgumentOutOfRangeException()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new RationalResampler(100_003, 100_019));
        Should.Throw<ArgumentOutOfRangeException>(() => new RationalResampler(360, 360 * Math.PI));
    }

    [Fact]
    public void Process_rejects_an_output_buffer_below_MaxOutputLength()
    {
        var r = new RationalResampler(128, 360);

        Should.Throw<ArgumentException>(() => r.Process(new float[16], new float[r.MaxOutputLength(16) - 1]));
        Should.Throw<ArgumentOutOfRangeException>(() => r.MaxOutputLength(-1));
    }

    [Fact]
    public void Bessel_I0_matches_reference_values()
    {
        // scipy.special.i0(1) and i0e(7.857); 7.857 is the β used for 80 dB.
        RationalResampler.BesselI0(0).ShouldBe(1.0, 1e-15);
        RationalResampler.BesselI0(1).ShouldBe(1.2660658777520082, 1e-14);
        (RationalResampler.BesselI0(7.857) / Math.Exp(7.857)).ShouldBe(0.144778957008639, 1e-13);
    }

    private static double Rms(ReadOnlySpan<float> y)
    {
        double sum = 0;
        foreach (float v in y)
        {
            sum += v * (double)v;
        }

        return Math.Sqrt(sum / y.Length);
    }
}
