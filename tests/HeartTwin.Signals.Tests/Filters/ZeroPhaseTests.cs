using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Tests.Filters;

public class ZeroPhaseTests
{
    [Fact]
    public void DC_passes_unchanged_through_a_zero_phase_low_pass_including_the_edges()
    {
        var lp = FilterDesign.ButterworthLowPass(4, 40, 360);
        var x = Enumerable.Repeat(3.7f, 1000).ToArray();

        var y = ZeroPhase.Filter(lp, x);

        foreach (float v in y)
        {
            v.ShouldBe(3.7f, 1e-5f);
        }
    }

    [Fact]
    public void A_step_comes_through_without_a_start_up_transient()
    {
        var lp = FilterDesign.ButterworthLowPass(2, 10, 360);
        var x = Enumerable.Range(0, 720).Select(i => i < 360 ? 5f : 2f).ToArray();

        var y = ZeroPhase.Filter(lp, x);

        // The start and the end are flat; only the neighbourhood of the step at 1 s is smoothed, symmetrically.
        y.Take(200).ShouldAllBe(v => Math.Abs(v - 5f) < 1e-4f);
        y.Skip(520).ShouldAllBe(v => Math.Abs(v - 2f) < 1e-4f);
        (y[359] + y[360]).ShouldBe(7f, 0.05f);
    }

    [Theory]
    [InlineData(128.0, 3.0)]
    [InlineData(360.0, 5.0)]
    [InlineData(1000.0, 12.0)]
    public void A_pure_sine_keeps_its_phase_and_peak_locations(double fs, double f)
    {
        var lp = FilterDesign.ButterworthLowPass(4, 40, fs);
        const double phase = 0.3;
        var x = Tone.Sine(f, fs, (int)(4 * fs), phase: phase);

        var y = ZeroPhase.Filter(lp, x);

        // Fit away from the edges, where the odd reflection of a sine is not itself a sine; express the phase
        // error as a time shift in samples.
        int edge = (int)(fs / 2);
        var (amplitude, measuredPhase) = Tone.Fit(y, f, fs, edge, y.Length - (2 * edge));
        double shiftSamples = Tone.Wrap(measuredPhase - phase) / (2 * Math.PI * f / fs);
        shiftSamples.ShouldBe(0, 1e-4);
        amplitude.ShouldBe(Math.Pow(lp.Magnitude(f, fs), 2), 1e-4);
        int mid = x.Length / 2;
        int window = (int)(fs / f);
        ArgMax(y, mid, window).ShouldBe(ArgMax(x, mid, window));

        // The causal filter, by contrast, moves the peak later.
        var causal = new float[x.Length];
        lp.Clone().Process(x, causal);
        ArgMax(causal, mid, window).ShouldBeGreaterThan(ArgMax(x, mid, window));
    }

    [Fact]
    public void Magnitude_is_squared_so_a_Butterworth_cutoff_is_6_02_dB_down()
    {
        const double fs = 360, fc = 40;
        var lp = FilterDesign.ButterworthLowPass(4, fc, fs);
        var x = Tone.Sine(fc, fs, 3600);

        var y = ZeroPhase.Filter(lp, x);

        var (amplitude, _) = Tone.Fit(y, fc, fs, 400, 2800);
        (20 * Math.Log10(amplitude)).ShouldBe(20 * Math.Log10(0.5), 0.01);
    }

    [Fact]
    public void Matches_scipy_sosfiltfilt()
    {
        // x[n] = sin(0.1n) + 0.5cos(0.37n) + 0.01n rounded to float; reference from scipy.signal.sosfiltfilt 1.10.1.
        var x = Enumerable.Range(0, 60).Select(n => (float)(Math.Sin(0.1 * n) + (0.5 * Math.Cos(0.37 * n)) + (0.01 * n))).ToArray();
        int[] at = [0, 1, 10, 30, 58, 59];

        var even = ZeroPhase.Filter(FilterDesign.ButterworthLowPass(4, 0.2, 2.0), x);
        double[] evenExpected = [0.4980255726038252, 0.5193573331927533, 0.5209628863787997, 0.4925317097385434, -0.2557435342627882, -0.27987973147846074];
        var odd = ZeroPhase.Filter(FilterDesign.ButterworthLowPass(3, 0.3, 2.0), x);
        double[] oddExpected = [0.5002053045747384, 0.5518158322527804, 0.5182677613639459, 0.49311026311752915, -0.2904126170831004, -0.2764063264968078];

        for (int i = 0; i < at.Length; i++)
        {
            ((double)even[at[i]]).ShouldBe(evenExpected[i], 2e-6, $"order 4, sample {at[i]}");
            ((double)odd[at[i]]).ShouldBe(oddExpected[i], 2e-6, $"order 3, sample {at[i]}");
        }
    }

    [Fact]
    public void Pad_length_follows_scipy()
    {
        ZeroPhase.DefaultPadLength(FilterDesign.ButterworthLowPass(4, 10, 360)).ShouldBe(15);
        ZeroPhase.DefaultPadLength(FilterDesign.ButterworthLowPass(3, 10, 360)).ShouldBe(12);
    }

    [Fact]
    public void Works_in_place_on_short_signals_and_leaves_the_design_state_alone()
    {
        var lp = FilterDesign.ButterworthLowPass(4, 40, 360);
        lp.Process(100f); // Give the design some state; zero-phase filtering must ignore it.
        var x = new float[] { 1f, 1f, 1f, 1f, 1f };

        ZeroPhase.Filter(lp, x, x);

        x.ShouldAllBe(v => Math.Abs(v - 1f) < 1e-5f);
        ZeroPhase.Filter(lp, new float[] { 2f }).ShouldBe([2f], 1e-5f);
        ZeroPhase.Filter(lp, ReadOnlySpan<float>.Empty).ShouldBeEmpty();
        var fresh = lp.Clone();
        lp.Process(0f).ShouldNotBe(fresh.Process(0f));
    }

    [Fact]
    public void Rejects_an_output_shorter_than_the_input()
    {
        var lp = FilterDesign.ButterworthLowPass(2, 40, 360);

        Should.Throw<ArgumentException>(() => ZeroPhase.Filter(lp, new float[10], new float[5]));
    }

    private static int ArgMax(float[] y, int start, int count)
    {
        int best = start;
        for (int i = start; i < start + count; i++)
        {
            if (y[i] > y[best])
            {
                best = i;
            }
        }

        return best;
    }
}
