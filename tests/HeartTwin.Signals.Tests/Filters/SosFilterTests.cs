using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Tests.Filters;

public class SosFilterTests
{
    private static float[] Noise(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2.0) - 1.0);
        }

        return x;
    }

    [Fact]
    public void Block_processing_equals_per_sample_processing_and_works_in_place()
    {
        var design = FilterDesign.ButterworthLowPass(5, 40, 360);
        var x = Noise(1000, 1);

        var perSample = design.Clone();
        var expected = x.Select(perSample.Process).ToArray();

        var chunked = design.Clone();
        var y = new float[x.Length];
        chunked.Process(x.AsSpan(0, 333), y.AsSpan(0, 333));
        chunked.Process(x.AsSpan(333), y.AsSpan(333));
        y.ShouldBe(expected);

        var inPlace = (float[])x.Clone();
        var third = design.Clone();
        third.Process(inPlace, inPlace);
        inPlace.ShouldBe(expected);
    }

    [Fact]
    public void Single_section_matches_a_hand_computed_difference_equation()
    {
        // y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] − a1 y[n-1] − a2 y[n-2] with an impulse input.
        var q = new Biquad(0.5, 0.25, 0.125, -0.5, 0.25);
        var f = new SosFilter(q);

        f.Process(1f).ShouldBe(0.5f);
        f.Process(0f).ShouldBe(0.25f + (0.5f * 0.5f));          // 0.5
        f.Process(0f).ShouldBe(0.125f + (0.5f * 0.5f) - (0.25f * 0.5f)); // 0.25
    }

    [Fact]
    public void Reset_clears_state_so_the_same_input_gives_the_same_output()
    {
        var f = FilterDesign.ButterworthHighPass(2, 0.5, 360);
        var x = Noise(200, 2);
        var first = new float[x.Length];
        var second = new float[x.Length];

        f.Process(x, first);
        f.Reset();
        f.Process(x, second);

        second.ShouldBe(first);
    }

    [Fact]
    public void Reset_to_a_value_starts_in_steady_state_so_a_constant_gives_no_transient()
    {
        var lowPass = FilterDesign.ButterworthLowPass(4, 40, 360);
        lowPass.Reset(2.5f);
        for (int i = 0; i < 100; i++)
        {
            lowPass.Process(2.5f).ShouldBe(2.5f, 1e-5f);
        }

        var highPass = FilterDesign.ButterworthHighPass(2, 0.5, 360);
        highPass.Reset(1000f);
        for (int i = 0; i < 100; i++)
        {
            highPass.Process(1000f).ShouldBe(0f, 1e-6f);
        }
    }

    [Fact]
    public void Cascade_equals_running_the_filters_one_after_another()
    {
        var hp = FilterDesign.ButterworthHighPass(2, 0.5, 250);
        var lp = FilterDesign.ButterworthLowPass(3, 40, 250);
        var both = SosFilter.Cascade(hp, lp);
        var x = Noise(500, 3);

        var y = new float[x.Length];
        both.Process(x, y);

        both.SectionCount.ShouldBe(3);
        both.Order.ShouldBe(5);
        for (int i = 0; i < x.Length; i++)
        {
            // The cascade keeps double precision between the filters; one float rounding apart at most.
            y[i].ShouldBe(lp.Process(hp.Process(x[i])), 1e-5f);
        }
    }

    [Fact]
    public void Group_delay_equals_the_derivative_of_the_phase()
    {
        const double fs = 360;
        var f = FilterDesign.ButterworthLowPass(4, 40, fs);

        foreach (double freq in new[] { 1.0, 10.0, 30.0, 60.0 })
        {
            const double df = 1e-4;
            double dPhase = Tone.Wrap(f.Response(freq + df, fs).Phase - f.Response(freq - df, fs).Phase);
            double numeric = -dPhase / (2 * Math.PI * 2 * df / fs);
            f.GroupDelaySamples(freq, fs).ShouldBe(numeric, 1e-4);
        }

        // A Butterworth low-pass delays low frequencies by Σ 1/(section bandwidth), here about 3 samples at 360 Hz.
        f.GroupDelaySamples(1, fs).ShouldBeInRange(2.0, 4.0);
    }

    [Fact]
    public void Measured_delay_of_a_low_frequency_sine_matches_the_group_delay()
    {
        const double fs = 360, freq = 2.0;
        var f = FilterDesign.ButterworthLowPass(4, 40, fs);
        var x = Tone.Sine(freq, fs, 3600);
        var y = new float[x.Length];
        f.Process(x, y);

        var (_, phase) = Tone.Fit(y, freq, fs, 1800, 1800);
        double delaySamples = -phase / (2 * Math.PI * freq / fs);

        // For a low-pass well below its cutoff, phase is nearly linear, so phase delay ≈ group delay.
        delaySamples.ShouldBe(f.GroupDelaySamples(freq, fs), 0.02);
    }

    [Fact]
    public void Constructor_rejects_no_sections_and_non_finite_coefficients()
    {
        Should.Throw<ArgumentException>(() => new SosFilter(ReadOnlySpan<Biquad>.Empty));
        Should.Throw<ArgumentException>(() => new SosFilter(new Biquad(double.NaN, 0, 0, 0, 0)));
    }

    [Fact]
    public void Process_rejects_an_output_shorter_than_the_input()
    {
        var f = FilterDesign.ButterworthLowPass(2, 10, 100);

        Should.Throw<ArgumentException>(() => f.Process(new float[10], new float[9]));
    }

    [Fact]
    public void Stability_flags_a_section_with_a_pole_outside_the_unit_circle()
    {
        new Biquad(1, 0, 0, 0, 1.01).IsStable.ShouldBeFalse();
        new Biquad(1, 0, 0, -2.1, 0.9).IsStable.ShouldBeFalse();
        FilterDesign.ButterworthHighPass(16, 0.05, 1000).IsStable.ShouldBeTrue();
    }
}
