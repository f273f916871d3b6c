using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Detection;

public class QrsDetectorTests
{
    private static readonly string[] RateRecords = ["101", "119", "208", "223"];
    private static (List<float[]> Leads, IReadOnlyList<Annotation> Reference) Load(string record)
    {
        var r = WfdbRecord.Read(TestData.MitDb, record);
        return (EcgLeads.ReadMillivolts(r), AnnotationFile.Read(TestData.MitDb, record, "atr"));
    }

    [Fact]
    public void Reaches_the_accuracy_floor_on_every_shared_record()
    {
        // Gross Se and +P over the 26 shared records, whole records, ±150 ms (bxb's rules).
        // The target, 99.8 / 99.8 (today 99.871 / 99.813; see docs/qrs-detector.md).
        var gross = default(DetectionCounts);
        var lock_ = new object();
        Parallel.ForEach(TestData.MitDbRecords, record =>
        {
            var (leads, reference) = Load(record);
            var detections = QrsDetector.Detect(leads, 360);
            var c = QrsEvaluation.Score(record, reference, detections, 360, leads[0].Length).Counts;
            lock (lock_)
            {
                gross += c;
            }
        });

        gross.SensitivityPercent.ShouldBeGreaterThanOrEqualTo(99.8);
        gross.PositivePredictivityPercent.ShouldBeGreaterThanOrEqualTo(99.8);
    }

    [Fact]
    [Trait("Regression", "issue-2")]
    public void The_start_of_a_stream_does_not_read_as_beats()
    {
        // While the detector learns a stream's scale, every new maximum weighs about 1. Its background test must use
        // today's scale, or the first real beats look like background and the start-up hump reads as a beat.
        long falseStarts = 0;
        long missedStarts = 0;
        foreach (var record in TestData.MitDbRecords)
        {
            var (leads, reference) = Load(record);
            var first = leads.Select(l => l[..(3 * 360)]).ToList();
            var detections = QrsDetector.Detect(first, 360);
            var start = reference.Where(a => a.Sample < (3 * 360) - 100).ToList();
            var c = QrsEvaluation.Score(record, start, detections.Where(d => d < (3 * 360) - 100).ToArray(), 360, first[0].Length).Counts;
            falseStarts += c.FalsePositives;
            missedStarts += c.FalseNegatives;
        }

        // Before the background fix: 28 false and 10 missed beats in the first seconds of the 26 records; before
        // candidates were ranked on the scale from before them (see the P-wave test below): 11 and 11; now 7 and 3.
        falseStarts.ShouldBeLessThanOrEqualTo(8);
        missedStarts.ShouldBeLessThanOrEqualTo(4);
    }

    [Theory]
    [InlineData(128)]
    [InlineData(250)]
    [InlineData(500)]
    [InlineData(1000)]
    public void Works_on_records_resampled_to_other_rates(int rateHz)
    {
        var gross = default(DetectionCounts);
        foreach (var record in RateRecords.Where(r => File.Exists(Path.Combine(TestData.MitDb, r + ".hea"))))
        {
            var (leads, reference) = Load(record);
            var resampled = leads.Select(l => RationalResampler.Resample(l, 360, rateHz)).ToList();
            var detections = QrsDetector.Detect(resampled, rateHz);
            var scale = rateHz / 360.0;
            var scaledReference = reference.Select(a => a with { Sample = (long)Math.Round(a.Sample * scale) }).ToList();
            gross += QrsEvaluation.Score(record, scaledReference, detections, rateHz, resampled[0].Length).Counts;
        }

        gross.SensitivityPercent.ShouldBeGreaterThan(99.5);
        gross.PositivePredictivityPercent.ShouldBeGreaterThan(99.5);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(360)]
    [InlineData(1000)]
    public void Every_beat_is_reported_within_300_ms(int rateHz)
    {
        var (leads, _) = Load("208");
        var x = leads.Select(l => RationalResampler.Resample(l.AsSpan(0, 360 * 120), 360, rateHz)).ToList();
        var detector = new QrsDetector(x.Count, rateHz);
        detector.MaxDecisionDelaySamples.ShouldBeLessThanOrEqualTo((int)(0.3 * rateHz));
        var detections = new List<long>();
        var frame = new float[x.Count];
        long worst = 0;
        for (var n = 0; n < x[0].Length; n++)
        {
            for (var l = 0; l < x.Count; l++)
            {
                frame[l] = x[l][n];
            }

            var before = detections.Count;
            detector.Process(frame, detections);
            for (var k = before; k < detections.Count; k++)
            {
                worst = Math.Max(worst, n - detections[k]);
            }
        }

        detections.Count.ShouldBeGreaterThan(100);
        worst.ShouldBeLessThanOrEqualTo((long)(0.3 * rateHz));
    }

    [Fact]
    public void Streaming_in_uneven_chunks_gives_the_same_beats_as_one_pass()
    {
        var (leads, _) = Load("106");
        var whole = QrsDetector.Detect(leads, 360);
        var detector = new QrsDetector(2, 360);
        var detections = new List<long>();
        var random = new Random(7);
        var n = 0;
        while (n < leads[0].Length)
        {
            var count = Math.Min(random.Next(1, 5000), leads[0].Length - n);
            var frames = new float[count * 2];
            for (var i = 0; i < count; i++)
            {
                frames[2 * i] = leads[0][n + i];
                frames[(2 * i) + 1] = leads[1][n + i];
            }

            detector.Process(frames, detections);
            n += count;
        }

        detector.Flush(detections);
        detections.ShouldBe(whole);
    }

    [Fact]
    public void Baseline_wander_and_a_lost_lead_do_not_stop_detection()
    {
        var (leads, reference) = Load("119");
        var wandering = leads[0].Select((v, i) => v + (float)(2.0 * Math.Sin(2 * Math.PI * 0.3 * i / 360))).ToArray();
        // The second lead falls off (flat) for the middle ten minutes.
        var lost = leads[1].Select((v, i) => i is > 216000 and < 432000 ? 0f : v).ToArray();
        var detections = QrsDetector.Detect([wandering, lost], 360);
        var c = QrsEvaluation.Score("119", reference, detections, 360, leads[0].Length).Counts;
        c.SensitivityPercent.ShouldBeGreaterThan(99.5);
        c.PositivePredictivityPercent.ShouldBeGreaterThan(99.5);
    }

    [Theory]
    [Trait("Regression", "issue-2")]
    [InlineData(1, 0.2, 15, 0)] // before the burst test: 69 false beats
    [InlineData(0, 0.4, 30, 0)] // before the burst test: 348 false beats
    public void A_noise_burst_in_one_lead_while_the_other_is_quiet_is_not_a_beat(int burstLead, double sigmaMv, int maxFalse, int maxMissed)
    {
        // Record 112 is clean (no false or missed beats). Broadband bursts of 150 ms are added to one lead halfway
        // between every fourth pair of beats, where the other lead is quiet: 635 bursts.
        var (leads, reference) = Load("112");
        var noisy = leads.Select(l => (float[])l.Clone()).ToList();
        var beats = reference.Where(a => a.IsBeat).Select(a => a.Sample).ToArray();
        var random = new Random(11);
        for (var i = 0; i + 1 < beats.Length; i += 4)
        {
            var mid = (beats[i] + beats[i + 1]) / 2;
            for (var k = mid - 27; k < mid + 27; k++)
            {
                noisy[burstLead][k] += (float)(sigmaMv * Gaussian(random));
            }
        }

        var c = QrsEvaluation.Score("112", reference, QrsDetector.Detect(noisy, 360), 360, leads[0].Length).Counts;
        c.FalsePositives.ShouldBeLessThanOrEqualTo(maxFalse);
        c.FalseNegatives.ShouldBeLessThanOrEqualTo(maxMissed);
    }

    [Theory]
    [Trait("Regression", "issue-2")]
    [InlineData(0, 200)] // before the rule: 634 false beats (lead 1's T wave often rises over the quiet mark here)
    [InlineData(1, 40)] // before the rule: 565 false beats
    public void A_premature_hump_that_a_lead_which_saw_every_recent_beat_misses_is_not_a_beat(int humpLead, int maxFalse)
    {
        // Record 112 is clean. A QRS-like hump (a biphasic pulse in the QRS band, as tall as the lead's R waves, so the
        // burst test cannot tell it from a QRS) is added to one lead halfway between every fourth pair of beats, while
        // the other lead, which has seen every beat, stays quiet: 635 humps.
        var (leads, reference) = Load("112");
        var noisy = leads.Select(l => (float[])l.Clone()).ToList();
        var beats = reference.Where(a => a.IsBeat).Select(a => a.Sample).ToArray();
        var height = Percentile(leads[humpLead], 0.999) - Percentile(leads[humpLead], 0.5);
        const double sigma = 0.012 * 360; // 12 ms
        for (var i = 0; i + 1 < beats.Length; i += 4)
        {
            var mid = (beats[i] + beats[i + 1]) / 2;
            for (var k = -36; k <= 36; k++)
            {
                // The derivative of a Gaussian, scaled so that its peak-to-peak is the lead's R-wave height.
                var t = k / sigma;
                noisy[humpLead][mid + k] += (float)(-height * 0.82 * t * Math.Exp(-0.5 * t * t));
            }
        }

        var c = QrsEvaluation.Score("112", reference, QrsDetector.Detect(noisy, 360), 360, leads[0].Length).Counts;
        c.FalsePositives.ShouldBeLessThanOrEqualTo(maxFalse);
        c.FalseNegatives.ShouldBeLessThanOrEqualTo(2);
    }

    [Fact]
    [Trait("Regression", "issue-2")]
    public void One_false_beat_does_not_switch_off_the_lead_that_saw_every_other_beat()
    {
        // Record 112 is clean. A QRS-like hump is added to lead 1 halfway between every second pair of beats; every
        // fifth of them also shows in lead 0, at half the height of its R waves, so that it passes as a beat (a false
        // beat the detector cannot tell from a QRS). The humps that follow it within 8 beats show in lead 1 only. Were
        // the false beat counted as a beat that lead 0 missed, lead 0 would lose its vote for 8 beats and let them through.
        var (leads, reference) = Load("112");
        var noisy = leads.Select(l => (float[])l.Clone()).ToList();
        var beats = reference.Where(a => a.IsBeat).Select(a => a.Sample).ToArray();
        var heights = leads.Select(l => Percentile(l, 0.999) - Percentile(l, 0.5)).ToArray();
        const double sigma = 0.012 * 360;
        var both = 0;
        for (var i = 0; i + 1 < beats.Length; i += 2)
        {
            var mid = (beats[i] + beats[i + 1]) / 2;
            var inBoth = i % 10 == 0;
            both += inBoth ? 1 : 0;
            for (var k = -36; k <= 36; k++)
            {
                var t = k / sigma;
                var pulse = -0.82 * t * Math.Exp(-0.5 * t * t);
                noisy[1][mid + k] += (float)(heights[1] * pulse);
                if (inBoth)
                {
                    noisy[0][mid + k] += (float)(0.5 * heights[0] * pulse);
                }
            }
        }

        var c = QrsEvaluation.Score("112", reference, QrsDetector.Detect(noisy, 360), 360, leads[0].Length).Counts;
        // Only the humps in both leads may pass (254 of them; 178 do). When all 8 beats had to be seen: 786 false beats.
        c.FalsePositives.ShouldBeLessThanOrEqualTo(both);
        c.FalseNegatives.ShouldBeLessThanOrEqualTo(2);
    }

    [Theory]
    [Trait("Regression", "issue-2")]
    [InlineData(0, 30)] // 21 missed of 423; 54 before the reliable lead could accept a beat on time
    [InlineData(1, 8)] // 6 missed; 11 before
    public void A_beat_on_time_that_one_lead_shows_plainly_is_kept_while_the_other_lead_drifts_without_its_QRS(int lostLead, int maxMissed)
    {
        // Record 112 is clean. For 20 s in every 120 s, one lead loses its ECG: it recovers from a 2 mV step along a
        // slow exponential (as an electrode does after motion, or an amplifier after saturation), with no QRS in it and
        // never flat, so the detector cannot tell it is off. The other lead still shows every beat.
        var (leads, reference) = Load("112");
        var drifting = leads.Select(l => (float[])l.Clone()).ToList();
        var lost = drifting[lostLead];
        var random = new Random(5);
        var lostBeats = 0;
        for (var start = 60 * 360; start + (20 * 360) < lost.Length; start += 120 * 360)
        {
            var from = lost[start];
            for (var k = 0; k < 20 * 360; k++)
            {
                lost[start + k] = from + (float)((2.0 * Math.Exp(-k / (6.0 * 360))) + (0.01 * Gaussian(random)));
            }

            lostBeats += reference.Count(a => a.IsBeat && a.Sample >= start && a.Sample < start + (20 * 360));
        }

        var c = QrsEvaluation.Score("112", reference, QrsDetector.Detect(drifting, 360), 360, lost.Length).Counts;
        lostBeats.ShouldBe(423);
        c.FalseNegatives.ShouldBeLessThanOrEqualTo(maxMissed);
        c.FalsePositives.ShouldBeLessThanOrEqualTo(2);
    }

    [Theory]
    [Trait("Regression", "issue-2")]
    [InlineData("102")]
    [InlineData("115")]
    [InlineData("223")]
    public void A_stream_that_starts_with_a_P_wave_reports_the_QRS_after_it(string record)
    {
        // These records begin just before a P wave. While the detector learns the scale, every hump that sets a new
        // maximum reads 1 per lead, so the QRS that follows read no higher than the P wave: the P wave was reported
        // and the QRS lost. Ranking candidates on the scale from before them reports the QRS.
        var (leads, reference) = Load(record);
        const int span = 5 * 360;
        var detections = QrsDetector.Detect(leads.Select(l => l[..span]).ToList(), 360);
        var start = reference.Where(a => a.Sample < span - 100).ToList();
        var c = QrsEvaluation.Score(record, start, detections.Where(d => d < span - 100).ToArray(), 360, span).Counts;
        c.FalsePositives.ShouldBe(0);
        c.FalseNegatives.ShouldBe(0);
    }

    private static float Percentile(float[] values, double p)
    {
        var sorted = (float[])values.Clone();
        Array.Sort(sorted);
        return sorted[(int)(p * (sorted.Length - 1))];
    }

    [Fact]
    public void A_clean_record_keeps_every_beat_and_gains_none()
    {
        var (leads, reference) = Load("112");
        var c = QrsEvaluation.Score("112", reference, QrsDetector.Detect(leads, 360), 360, leads[0].Length).Counts;
        c.FalseNegatives.ShouldBe(0);
        c.FalsePositives.ShouldBe(0);
    }

    [Fact]
    public void Single_lead_detection_works_on_either_lead()
    {
        var (leads, reference) = Load("112");
        foreach (var lead in leads)
        {
            var detections = QrsDetector.Detect([lead], 360);
            var c = QrsEvaluation.Score("single", reference, detections, 360, lead.Length).Counts;
            c.SensitivityPercent.ShouldBeGreaterThan(99.0);
            c.PositivePredictivityPercent.ShouldBeGreaterThan(99.0);
        }
    }

    [Fact]
    public void Invalid_samples_and_bad_arguments_are_handled()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new QrsDetector(0, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => new QrsDetector(1, 10));
        Should.Throw<ArgumentOutOfRangeException>(() => new QrsDetector(1, double.NaN));
        var d = new QrsDetector(2, 360);
        Should.Throw<ArgumentException>(() => d.Process(new float[3], []));
        var nan = Enumerable.Repeat(float.NaN, 3600).ToArray();
        Should.NotThrow(() => d.Process(nan, []));
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
