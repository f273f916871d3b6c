using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Signals.Tests.Rhythm;

public class HrvTests
{
    private static readonly double[] Rr = [800, 810, 790, 850, 760];

    [Fact]
    public void Known_RR_sequence_gives_hand_computed_SDNN_RMSSD_and_pNN50()
    {
        HrvMetrics m = Hrv.Compute(Rr);

        // Mean = (800 + 810 + 790 + 850 + 760) / 5 = 4010 / 5 = 802.
        // Deviations -2, 8, -12, 48, -42; squares 4 + 64 + 144 + 2304 + 1764 = 4280; SDNN = sqrt(4280 / (5 - 1)).
        // Successive differences 10, -20, 60, -90: RMSSD = sqrt((100 + 400 + 3600 + 8100) / 4); |d| > 50 for 60 and -90: 2 of 4.
        m.Count.ShouldBe(5);
        m.MeanRrMs.ShouldBe(802.0, 1e-9);
        m.SdnnMs.ShouldBe(Math.Sqrt(4280.0 / 4), 1e-9);
        m.RmssdMs.ShouldBe(Math.Sqrt((100.0 + 400 + 3600 + 8100) / 4), 1e-9);
        m.Pnn50Percent.ShouldBe(50.0, 1e-12);
        m.MeanHeartRateBpm.ShouldBe(60000.0 / 802, 1e-9);
        m.RejectedCount.ShouldBe(0);
        m.SuccessiveDifferenceCount.ShouldBe(4);
    }

    [Fact]
    public void A_difference_of_exactly_50_ms_does_not_count_towards_pNN50()
    {
        Hrv.Compute([800, 850, 800, 851]).Pnn50Percent.ShouldBe(100.0 / 3, 1e-9); // 50, -50, 51: only 51 > 50
    }

    [Fact]
    public void Instantaneous_heart_rate_is_60000_over_RR()
    {
        HeartRate.InstantaneousBpm(800).ShouldBe(75.0);
        HeartRate.Instantaneous(Rr).ShouldBe([75.0, 60000.0 / 810, 60000.0 / 790, 60000.0 / 850, 60000.0 / 760]);
        HeartRate.InstantaneousBpm(0).ShouldBe(double.NaN);
        HeartRate.InstantaneousBpm(-5).ShouldBe(double.NaN);
    }

    [Fact]
    public void Mean_and_median_heart_rates_use_mean_and_median_RR()
    {
        HeartRate.MeanBpm(Rr).ShouldBe(60000.0 / 802, 1e-9);
        HeartRate.MedianBpm(Rr).ShouldBe(75.0, 1e-12);                   // sorted 760 790 [800] 810 850
        HeartRate.MedianBpm([800, 1000, 600, 1200]).ShouldBe(60000.0 / 900); // even count: (800 + 1000) / 2
        HeartRate.MeanBpm([]).ShouldBe(double.NaN);
        HeartRate.MedianBpm([]).ShouldBe(double.NaN);
    }

    [Fact]
    public void Median_heart_rate_shrugs_off_a_missed_beat_that_drags_the_mean()
    {
        double[] withMissedBeat = [800, 800, 1600, 800, 800]; // one beat not detected doubles an interval
        HeartRate.MedianBpm(withMissedBeat).ShouldBe(75.0);
        HeartRate.MeanBpm(withMissedBeat).ShouldBe(60000.0 / 960, 1e-9);
    }

    [Fact]
    public void Large_inputs_use_the_pooled_median_path()
    {
        double[] rr = [.. Enumerable.Range(0, 1001).Select(i => 500.0 + i)];
        HeartRate.MedianBpm(rr).ShouldBe(60000.0 / 1000);
    }

    [Fact]
    public void Physiologically_impossible_RR_intervals_are_rejected_as_artefacts()
    {
        // 150 ms (400 bpm) and 4000 ms (15 bpm) are detector errors. Accepted: 800 810 | 790 | 850 760.
        // Only adjacent accepted pairs give differences: 810 - 800 = 10 and 760 - 850 = -90.
        HrvMetrics m = Hrv.Compute([800, 810, 150, 790, 4000, 850, 760]);

        m.Count.ShouldBe(5);
        m.RejectedCount.ShouldBe(2);
        m.MeanRrMs.ShouldBe(802.0, 1e-9);
        m.SdnnMs.ShouldBe(Math.Sqrt(4280.0 / 4), 1e-9);
        m.SuccessiveDifferenceCount.ShouldBe(2);
        m.RmssdMs.ShouldBe(Math.Sqrt((100.0 + 8100) / 2), 1e-9);
        m.Pnn50Percent.ShouldBe(50.0);
        HeartRate.MeanBpm([800, 150, 4000, double.NaN]).ShouldBe(75.0);
        HeartRate.IsPhysiological(200).ShouldBeTrue();
        HeartRate.IsPhysiological(3000).ShouldBeTrue();
        HeartRate.IsPhysiological(199.9).ShouldBeFalse();
        HeartRate.IsPhysiological(double.PositiveInfinity).ShouldBeFalse();
    }

    [Fact]
    public void Only_intervals_between_two_normal_beats_are_used_when_labels_are_given()
    {
        // Beats 0..5; beat 2 is ectopic, so RR 1 (beat 1 -> 2) and RR 2 (beat 2 -> 3) go: left 800 | 850 760.
        bool[] normal = [true, true, false, true, true, true];
        HrvMetrics m = Hrv.Compute(Rr, normal);

        double mean = (800.0 + 850 + 760) / 3;
        double sdnn = Math.Sqrt((Math.Pow(800 - mean, 2) + Math.Pow(850 - mean, 2) + Math.Pow(760 - mean, 2)) / 2);
        m.Count.ShouldBe(3);
        m.RejectedCount.ShouldBe(2);
        m.MeanRrMs.ShouldBe(mean, 1e-9);
        m.SdnnMs.ShouldBe(sdnn, 1e-9);
        m.SuccessiveDifferenceCount.ShouldBe(1);
        m.RmssdMs.ShouldBe(90.0, 1e-9);
        m.Pnn50Percent.ShouldBe(100.0);
    }

    [Fact]
    public void Beat_positions_give_the_same_metrics_as_their_intervals()
    {
        int[] beats = [1000, 1800, 2610, 3400, 4250, 5010]; // at 1000 Hz one sample is 1 ms
        HrvMetrics fromBeats = Hrv.FromBeats(beats, 1000);
        fromBeats.ShouldBe(Hrv.Compute(Rr));

        int[] at250 = [.. beats.Select(b => b / 4 * 4 / 4)];
        HeartRate.RrIntervalsMs(at250, 250).ShouldBe([800.0, 808, 792, 848, 760]);
        HeartRate.RrIntervalsMs(new long[] { 0, 360, 720 }, 360).ShouldBe([1000.0, 1000.0]);
        Hrv.FromBeats(beats, 1000, [true, true, false, true, true, true]).ShouldBe(Hrv.Compute(Rr, [true, true, false, true, true, true]));
    }

    [Fact]
    public void Beats_in_a_window_give_windowed_heart_rates()
    {
        int[] beats = [100, 460, 820, 1180, 1500, 1800, 2100];
        ReadOnlySpan<int> window = HeartRate.BeatsInWindow(beats, 400, 1500);
        window.ToArray().ShouldBe([460, 820, 1180]);
        HeartRate.MeanBpmFromBeats(window, 360).ShouldBe(60.0, 1e-9);
        HeartRate.MedianBpmFromBeats(HeartRate.BeatsInWindow(beats, 1100, 5000), 360).ShouldBe(60000.0 / (300.0 * 1000 / 360), 1e-9);
        HeartRate.BeatsInWindow(beats, 3000, 4000).IsEmpty.ShouldBeTrue();
        HeartRate.MeanBpmFromBeats([42], 360).ShouldBe(double.NaN);
    }

    [Fact]
    public void Empty_and_too_short_inputs_give_NaN_metrics_without_throwing()
    {
        HrvMetrics none = Hrv.Compute([]);
        none.Count.ShouldBe(0);
        none.MeanRrMs.ShouldBe(double.NaN);
        none.SdnnMs.ShouldBe(double.NaN);
        none.RmssdMs.ShouldBe(double.NaN);
        none.Pnn50Percent.ShouldBe(double.NaN);
        none.MeanHeartRateBpm.ShouldBe(double.NaN);

        HrvMetrics one = Hrv.Compute([800]);
        one.Count.ShouldBe(1);
        one.MeanRrMs.ShouldBe(800);
        one.MeanHeartRateBpm.ShouldBe(75);
        one.SdnnMs.ShouldBe(double.NaN);
        one.RmssdMs.ShouldBe(double.NaN);
        one.Pnn50Percent.ShouldBe(double.NaN);

        Hrv.Compute([50, 5000, double.NaN]).Count.ShouldBe(0);
        Hrv.FromBeats([], 360).Count.ShouldBe(0);
        Hrv.FromBeats([5], 360).Count.ShouldBe(0);
    }

    [Fact]
    public void Mismatched_labels_and_bad_rates_are_argument_errors()
    {
        Should.Throw<ArgumentException>(() => Hrv.Compute(Rr, [true, true])).Message.ShouldContain("need 6 beat labels");
        Should.Throw<ArgumentOutOfRangeException>(() => Hrv.FromBeats([1, 2, 3], 0));
        Should.Throw<ArgumentOutOfRangeException>(() => HeartRate.RrIntervalsMs([1, 2, 3], double.NaN));
        Should.Throw<ArgumentException>(() => HeartRate.RrIntervalsMs([1, 2, 3], 360, new double[1]));
    }
}
