using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Signals.Tests.Rhythm;

public class SignalQualityTests
{
    public static TheoryData<double> Rates => [128, 360, 500];

    [Theory]
    [MemberData(nameof(Rates))]
    public void Clean_synthetic_ECG_scores_Good(double fs)
    {
        SignalQualityResult q = SignalQuality.Assess(SyntheticEcg.Clean(fs), fs);

        q.Category.ShouldBe(SignalQualityCategory.Good, q.ToString());
        q.Issues.ShouldBe(SignalQualityIssues.None);
        q.Score.ShouldBeGreaterThan(0.9);
        q.FlatLineFraction.ShouldBe(0);
        q.ClippedFraction.ShouldBe(0);
        q.PeakToPeakMillivolts.ShouldBeInRange(1.2, 2.0);
        q.Kurtosis.ShouldBeGreaterThan(5);
        q.HighFrequencyPowerRatio.ShouldBeLessThan(0.05);
        q.BaselinePowerRatio.ShouldBeLessThan(0.3);
        q.BeatRegularity.ShouldBe(double.NaN);
    }

    [Theory]
    [MemberData(nameof(Rates))]
    public void Flat_line_scores_Unusable_with_the_flat_line_flag(double fs)
    {
        float[] flat = new float[(int)(10 * fs)];
        Array.Fill(flat, 0.3f);
        SignalQualityResult q = SignalQuality.Assess(flat, fs);

        q.Category.ShouldBe(SignalQualityCategory.Unusable);
        q.Score.ShouldBe(0);
        q.Has(SignalQualityIssues.FlatLine).ShouldBeTrue();
        q.Has(SignalQualityIssues.AmplitudeTooLow).ShouldBeTrue();
        q.FlatLineFraction.ShouldBe(1.0);
        q.ClippedFraction.ShouldBe(0); // a flat trace is a lead-off, not a saturation
    }

    [Theory]
    [MemberData(nameof(Rates))]
    public void Loud_white_noise_scores_Unusable(double fs)
    {
        SignalQualityResult q = SignalQuality.Assess(SyntheticEcg.WhiteNoise(fs, 10, 1.0), fs);

        q.Category.ShouldBe(SignalQualityCategory.Unusable, q.ToString());
        q.Score.ShouldBeLessThan(0.3);
        q.Has(SignalQualityIssues.HighFrequencyNoise | SignalQualityIssues.LowKurtosis).ShouldBeTrue();
        q.Kurtosis.ShouldBe(3.0, 0.3);
    }

    [Theory]
    [MemberData(nameof(Rates))]
    public void Clipped_R_peaks_are_flagged(double fs)
    {
        float[] x = SyntheticEcg.Clean(fs);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = Math.Min(x[i], 0.5f); // the amplifier saturates at 0.5 mV, well below the 1.2 mV R waves
        }

        SignalQualityResult q = SignalQuality.Assess(x, fs);

        q.Has(SignalQualityIssues.Clipping).ShouldBeTrue(q.ToString());
        q.ClippedFraction.ShouldBeGreaterThan(0.01);
        q.Category.ShouldNotBe(SignalQualityCategory.Good);
    }

    [Fact]
    public void Heavy_clipping_makes_the_window_Unusable()
    {
        const double fs = 360;
        float[] x = new float[(int)(10 * fs)];
        for (int i = 0; i < x.Length; i++)
        {
            // A 4 mV swing through an amplifier that saturates at ±1 mV: mostly plateaus.
            x[i] = (float)Math.Clamp(4 * Math.Sin(2 * Math.PI * 1.3 * i / fs), -1, 1);
        }

        SignalQualityResult q = SignalQuality.Assess(x, fs);
        q.ClippedFraction.ShouldBeGreaterThan(0.1);
        q.Category.ShouldBe(SignalQualityCategory.Unusable);
    }

    [Fact]
    public void A_lead_falling_off_halfway_is_flagged_as_flat_line()
    {
        const double fs = 360;
        float[] x = SyntheticEcg.Clean(fs);
        Array.Fill(x, 0f, x.Length / 2, x.Length / 2);
        SignalQualityResult q = SignalQuality.Assess(x, fs);

        q.Has(SignalQualityIssues.FlatLine).ShouldBeTrue();
        q.FlatLineFraction.ShouldBe(0.5, 0.01);
        q.Category.ShouldBe(SignalQualityCategory.Unusable);
    }

    [Fact]
    public void Strong_baseline_wander_is_flagged()
    {
        const double fs = 360;
        float[] x = SyntheticEcg.Clean(fs);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += (float)(1.5 * Math.Sin(2 * Math.PI * 0.15 * i / fs));
        }

        SignalQualityResult q = SignalQuality.Assess(x, fs);
        q.Has(SignalQualityIssues.BaselineWander).ShouldBeTrue(q.ToString());
        q.BaselinePowerRatio.ShouldBeGreaterThan(0.5);
        q.Category.ShouldNotBe(SignalQualityCategory.Good);
    }

    [Fact]
    public void Muscle_noise_on_ECG_is_flagged_as_high_frequency_noise()
    {
        const double fs = 500;
        float[] x = SyntheticEcg.Clean(fs, noiseMillivolts: 0.15);
        SignalQualityResult q = SignalQuality.Assess(x, fs);
        q.Has(SignalQualityIssues.HighFrequencyNoise).ShouldBeTrue(q.ToString());
        q.Category.ShouldNotBe(SignalQualityCategory.Good);
    }

    [Fact]
    public void Amplitude_outside_the_physiological_range_is_Unusable()
    {
        const double fs = 360;
        float[] tiny = [.. SyntheticEcg.Clean(fs, noiseMillivolts: 0.0002).Select(v => v * 0.03f)];
        SignalQualityResult low = SignalQuality.Assess(tiny, fs);
        low.Has(SignalQualityIssues.AmplitudeTooLow).ShouldBeTrue(low.ToString());
        low.Category.ShouldBe(SignalQualityCategory.Unusable);

        float[] huge = [.. SyntheticEcg.Clean(fs).Select(v => v * 10f)];
        SignalQualityResult high = SignalQuality.Assess(huge, fs);
        high.Has(SignalQualityIssues.AmplitudeTooHigh).ShouldBeTrue();
        high.Category.ShouldBe(SignalQualityCategory.Unusable);
    }

    [Theory]
    [MemberData(nameof(Rates))]
    public void Regular_detected_beats_keep_a_clean_window_Good(double fs)
    {
        SignalQualityResult q = SignalQuality.Assess(SyntheticEcg.Clean(fs), fs, SyntheticEcg.Beats(fs));
        q.BeatRegularity.ShouldBe(1.0);
        q.Category.ShouldBe(SignalQualityCategory.Good);
    }

    [Fact]
    public void Implausible_detected_beats_are_flagged()
    {
        const double fs = 360;
        int[] jittery = [.. Enumerable.Range(0, 60).Select(i => i * 50)]; // every 139 ms: 432 bpm
        SignalQualityResult q = SignalQuality.Assess(SyntheticEcg.Clean(fs), fs, jittery);
        q.BeatRegularity.ShouldBe(0);
        q.Has(SignalQualityIssues.IrregularBeats).ShouldBeTrue();
        q.Category.ShouldBe(SignalQualityCategory.Acceptable);
    }

    [Fact]
    public void Too_short_and_non_finite_windows_are_Unusable_without_throwing()
    {
        SignalQuality.Assess([], 360).Issues.ShouldBe(SignalQualityIssues.TooShort);
        SignalQuality.Assess(new float[100], 360).Category.ShouldBe(SignalQualityCategory.Unusable);

        float[] x = SyntheticEcg.Clean(360);
        x[123] = float.NaN;
        SignalQualityResult q = SignalQuality.Assess(x, 360);
        q.Issues.ShouldBe(SignalQualityIssues.NonFinite);
        q.Category.ShouldBe(SignalQualityCategory.Unusable);
        Should.Throw<ArgumentOutOfRangeException>(() => SignalQuality.Assess(x, 0));
    }

    [Fact]
    public void Options_change_the_thresholds()
    {
        float[] x = SyntheticEcg.Clean(360);
        SignalQuality.Assess(x, 360, options: new SignalQualityOptions { KurtosisLimit = 1000 })
            .Has(SignalQualityIssues.LowKurtosis).ShouldBeTrue();
    }

    [Fact]
    public void Assessing_a_window_allocates_nothing()
    {
        float[] x = SyntheticEcg.Clean(360);
        int[] beats = SyntheticEcg.Beats(360);
        SignalQuality.Assess(x, 360, beats); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        SignalQualityResult q = SignalQuality.Assess(x, 360, beats);
        long after = GC.GetAllocatedBytesForCurrentThread();
        (after - before).ShouldBe(0);
        q.Category.ShouldBe(SignalQualityCategory.Good);
    }
}
