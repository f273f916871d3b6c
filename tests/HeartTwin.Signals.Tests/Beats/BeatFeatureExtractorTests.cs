using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Beats;

public class BeatFeatureExtractorTests
{
    private static readonly BeatWindowSpec Spec = BeatWindowSpec.Version1;

    private static readonly int[] HandIntervals = [200, 200, 150, 300, 200];

    // pre, post, local, pre/local, post/local, post/pre for beats at 100, 300, 500, 650, 950, 1150 samples at 200 Hz.
    private static readonly double[][] HandRr =
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],                                         // first: pre takes post
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [1.0, 0.75, 1.0, 1.0, 0.75, 0.75],
        [0.75, 1.5, 2.75 / 3, 0.75 / (2.75 / 3), 1.5 / (2.75 / 3), 2.0],        // premature, then a pause
        [1.5, 1.0, 4.25 / 4, 1.5 / (4.25 / 4), 1.0 / (4.25 / 4), 1.0 / 1.5],
        [1.0, 1.0, 5.25 / 5, 1.0 / (5.25 / 5), 1.0 / (5.25 / 5), 1.0],         // last: post takes pre
    ];

    [Fact]
    public void Rr_features_of_a_beat_train_match_hand_computed_values()
    {
        var beats = BeatTrain.FromIntervals(100, HandIntervals);
        var x = BeatTrain.Render(200, 1400, beats);

        var features = BeatFeatureExtractor.ExtractAll(x, 200, beats, Spec);

        features.Count.ShouldBe(beats.Length);
        for (int b = 0; b < beats.Length; b++)
        {
            features[b].SampleIndex.ShouldBe(beats[b]);
            features[b].Rr.Length.ShouldBe(6);
            for (int k = 0; k < 6; k++)
            {
                features[b].Rr[k].ShouldBe((float)HandRr[b][k], 1e-6, $"beat {b}, feature {Spec.RrFeatureNames[k]}");
            }
        }
    }

    [Fact]
    public void Local_rr_is_the_mean_of_the_last_ten_intervals()
    {
        // Eleven intervals of 0.5 s, then one of 1.0 s (at 100 Hz): the last beat's local RR is (9 × 0.5 + 1.0) / 10.
        int[] intervals = [.. Enumerable.Repeat(50, 11), 100];
        var beats = BeatTrain.FromIntervals(50, intervals);
        var x = BeatTrain.Render(100, 800, beats);

        var last = BeatFeatureExtractor.ExtractAll(x, 100, beats, Spec)[^1];

        last.Rr[0].ShouldBe(1.0f, 1e-6);
        last.Rr[1].ShouldBe(1.0f, 1e-6);
        last.Rr[2].ShouldBe(0.55f, 1e-6);
        last.Rr[3].ShouldBe((float)(1.0 / 0.55), 1e-5);
    }

    [Fact]
    public void A_stream_of_one_beat_has_zero_intervals_and_unit_ratios()
    {
        long[] beats = [360];
        var x = BeatTrain.Render(360, 1080, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec).ShouldHaveSingleItem();

        f.Rr.ShouldBe([0f, 0f, 0f, 1f, 1f, 1f]);
    }

    [Fact]
    public void Channel_0_is_the_window_minus_its_median_over_the_amplitude_reference()
    {
        var beats = BeatTrain.Regular(300, 288, 10);
        var x = BeatTrain.Render(360, 3600, beats, offsetMv: 0.4);

        var first = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec)[0];

        // The first beat's reference is its own peak-to-peak, so channel 0 spans exactly 1; its median is 0.
        var c0 = BeatTrain.Channel(first.Window, 0);
        (c0.Max() - c0.Min()).ShouldBe(1f, 1e-5);
        var sorted = c0.Order().ToArray();
        ((sorted[63] + sorted[64]) / 2f).ShouldBe(0f, 1e-6);
    }

    [Fact]
    public void A_signal_scaled_by_three_gives_the_same_channels()
    {
        var beats = BeatTrain.Regular(300, 290, 20);
        var x = BeatTrain.Render(360, 6200, beats, i => i % 5 == 3 ? BeatTrain.Shape.Ectopic : BeatTrain.Shape.Normal);
        var x3 = x.Select(v => 3f * v).ToArray();

        var a = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec);
        var b = BeatFeatureExtractor.ExtractAll(x3, 360, beats, Spec);

        a.Count.ShouldBe(b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            for (int k = 0; k < a[i].Window.Length; k++)
            {
                b[i].Window[k].ShouldBe(a[i].Window[k], 1e-4);
            }

            b[i].Rr.ShouldBe(a[i].Rr);
        }
    }

    [Fact]
    public void A_flat_lead_is_not_blown_up_by_the_amplitude_floor()
    {
        var beats = BeatTrain.Regular(300, 360, 5);
        var x = BeatTrain.Render(360, 2200, beats).Select(v => v * 0.001f).ToArray(); // 1.2 µV beats

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec);

        f.ShouldAllBe(b => b.Window.Max(v => Math.Abs(v)) < 0.05f);
    }

    [Fact]
    public void Identical_beats_have_a_zero_template_difference()
    {
        // RR of exactly 1 s at 360 Hz is 180 samples at 180 Hz, so every window sees the same samples once the
        // high-pass has settled.
        var beats = BeatTrain.Regular(360, 360, 40);
        var x = BeatTrain.Render(360, 41 * 360, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec);

        BeatTrain.Channel(f[0].Window, 1).ShouldAllBe(v => v == 0f);
        foreach (var beat in f.Skip(15))
        {
            BeatTrain.Channel(beat.Window, 1).Max(v => Math.Abs(v)).ShouldBeLessThan(0.005f);
        }
    }

    [Fact]
    public void An_ectopic_beat_stands_out_in_channel_1_and_comes_early()
    {
        // Beats every 0.8 s at 360 Hz; beat 20 is a PVC 0.5 s after the previous beat with a compensatory pause.
        var intervals = Enumerable.Repeat(288, 30).ToArray();
        intervals[19] = 180;
        intervals[20] = 396;
        var beats = BeatTrain.FromIntervals(360, intervals);
        var x = BeatTrain.Render(360, (int)beats[^1] + 720, beats, i => i == 20 ? BeatTrain.Shape.Ectopic : BeatTrain.Shape.Normal);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec);

        var normalEnergy = f.Where((_, i) => i is >= 10 and < 30 && i != 20).Select(b => BeatTrain.Energy(BeatTrain.Channel(b.Window, 1))).Max();
        var ectopicEnergy = BeatTrain.Energy(BeatTrain.Channel(f[20].Window, 1));
        ectopicEnergy.ShouldBeGreaterThan(20 * Math.Max(normalEnergy, 1e-3));
        f[20].Rr[3].ShouldBeLessThan(0.7f); // pre_rr / local_rr ≈ 0.5 / 0.79
        f[20].Rr[5].ShouldBeGreaterThan(2f); // post_rr / pre_rr = 1.1 / 0.5
        f[19].Rr[4].ShouldBeLessThan(0.7f); // the beat before sees the early one as a short post_rr
    }

    [Theory]
    [InlineData(360.0)]
    [InlineData(128.0)]
    [InlineData(500.0)]
    [InlineData(250.0)]
    [InlineData(1000.0)]
    public void The_R_wave_lands_at_index_54_whatever_the_input_rate(double fs)
    {
        // Beats on exact sample instants about 0.83 s apart.
        int interval = (int)Math.Round(0.83 * fs);
        var beats = BeatTrain.Regular((long)fs, interval, 20);
        var x = BeatTrain.Render(fs, (int)beats[^1] + (int)fs, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, fs, beats, Spec);

        foreach (var beat in f)
        {
            BeatTrain.ArgMax(BeatTrain.Channel(beat.Window, 0)).ShouldBe(54);
        }
    }

    [Theory]
    [InlineData(128.0)]
    [InlineData(500.0)]
    public void Windows_of_a_resampled_record_match_the_360_Hz_ones(double fs)
    {
        var database = WfdbDatabase.Open(TestData.MitDb);
        var record = database.ReadRecord("119");
        var lead = EcgLeads.ReadMillivolts(record)[0].AsSpan(0, 360 * 300).ToArray(); // five minutes, 326 beats
        var reference = database.ReadAnnotations("119")
            .Where(a => AamiMapping.FromCode(a.Code) is not null && a.Sample < lead.Length - 360)
            .Select(a => a.Sample).ToArray();
        var resampled = RationalResampler.Resample(lead, 360, fs);

        // The beats on the new rate's grid, and the same instants on the 360 Hz grid (a quarter sample at 180 Hz apart at
        // most), so that the comparison sees the extractor's alignment and not the coarser grid's quantisation.
        var atRate = reference.Select(s => (long)Math.Round(s * fs / 360)).ToArray();
        var back = atRate.Select(s => (long)Math.Round(s * 360 / fs)).ToArray();
        var at360 = BeatFeatureExtractor.ExtractAll(lead, 360, back, Spec);
        var atFs = BeatFeatureExtractor.ExtractAll(resampled, fs, atRate, Spec);

        at360.Count.ShouldBe(326);
        atFs.Count.ShouldBe(326);
        for (int i = 0; i < at360.Count; i++)
        {
            var a = BeatTrain.Channel(at360[i].Window, 0);
            var b = BeatTrain.Channel(atFs[i].Window, 0);
            BeatTrain.Correlation(a, b).ShouldBeGreaterThan(0.98, $"beat {i}");
            BeatTrain.ArgMaxAbs(b).ShouldBeInRange(BeatTrain.ArgMaxAbs(a) - 1, BeatTrain.ArgMaxAbs(a) + 1, $"beat {i}");
        }

        // The reference annotations mark the R peak: nearly every window has it at index 54 ± 1.
        at360.Count(b => Math.Abs(BeatTrain.ArgMaxAbs(BeatTrain.Channel(b.Window, 0)) - 54) <= 1).ShouldBeGreaterThan(315);
    }

    [Fact]
    public void Streaming_in_random_chunks_with_late_beats_equals_the_offline_result()
    {
        var database = WfdbDatabase.Open(TestData.MitDb);
        var record = database.ReadRecord("208");
        var lead = EcgLeads.ReadMillivolts(record)[0];
        var beats = database.ReadAnnotations("208").Where(a => AamiMapping.FromCode(a.Code) is not null).Select(a => a.Sample).ToArray();
        var offline = BeatFeatureExtractor.ExtractAll(lead, 360, beats, Spec);

        var streamed = StreamInRandomChunks(Spec, lead, beats, seed: 20261123);

        streamed.Count.ShouldBe(offline.Count);
        for (int i = 0; i < offline.Count; i++)
        {
            streamed[i].SampleIndex.ShouldBe(offline[i].SampleIndex);
            streamed[i].Window.ShouldBe(offline[i].Window);
            streamed[i].Rr.ShouldBe(offline[i].Rr);
        }
    }

    [Fact]
    public void A_beat_completes_once_the_next_is_known_and_its_window_has_arrived()
    {
        var beats = BeatTrain.Regular(360, 360, 3);
        var x = BeatTrain.Render(360, 1800, beats);
        var extractor = new BeatFeatureExtractor(Spec, 360);
        var done = new List<BeatFeatures>();

        extractor.Process(x.AsSpan(0, 500), done);
        extractor.AddBeat(beats[0], done);
        extractor.AddBeat(beats[1], done);
        done.ShouldBeEmpty(); // beat 0's window ends 74 samples at 180 Hz (0.41 s) after it, plus the delays

        extractor.Process(x.AsSpan(500, 300), done);
        done.ShouldHaveSingleItem().SampleIndex.ShouldBe(beats[0]);
        extractor.PendingBeats.ShouldBe(1);

        extractor.Process(x.AsSpan(800), done);
        done.Count.ShouldBe(1); // beat 1 waits for the next beat
        extractor.AddBeat(beats[2], done);
        done.Count.ShouldBe(2);
        extractor.Flush(done);
        done.Count.ShouldBe(3);
        done[2].Rr[1].ShouldBe(done[2].Rr[0]);
    }

    [Fact]
    public void A_window_past_the_end_of_the_signal_is_padded_with_the_last_value()
    {
        var beats = BeatTrain.Regular(360, 360, 4);
        var x = BeatTrain.Render(360, (int)beats[^1] + 20, beats); // the last beat's window runs past the end

        var last = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec)[^1];

        var c0 = BeatTrain.Channel(last.Window, 0);
        var tail = c0.AsSpan(54 + 20).ToArray();
        tail.ShouldAllBe(v => v == tail[0]);
        c0.ShouldAllBe(v => float.IsFinite(v));
    }

    [Fact]
    public void The_fiducial_is_shifted_by_the_filter_and_resampler_delays()
    {
        var e = new BeatFeatureExtractor(Spec, 360);

        e.FilterDelaySamples.ShouldBeInRange(1.0, 10.0);
        e.ResamplerDelaySamples.ShouldBeGreaterThan(0);
        e.FiducialPosition(1000).ShouldBe(((1000 + e.FilterDelaySamples) / 2) + e.ResamplerDelaySamples, 1e-9);
        new BeatFeatureExtractor(Spec, 128).FiducialPosition(128).ShouldBeGreaterThan(180);
    }

    [Fact]
    public void Processing_samples_does_not_allocate()
    {
        var x = BeatTrain.Render(360, 3600, BeatTrain.Regular(300, 300, 10));
        var e = new BeatFeatureExtractor(Spec, 360);
        var done = new List<BeatFeatures>();
        e.Process(x, done);

        long before = GC.GetAllocatedBytesForCurrentThread();
        e.Process(x, done);
        for (int i = 0; i < 100; i++)
        {
            e.Process(x.AsSpan(i, 1), done);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Fact]
    public void Nan_samples_hold_the_last_valid_value()
    {
        var beats = BeatTrain.Regular(300, 300, 6);
        var x = BeatTrain.Render(360, 2200, beats);
        x[1000] = float.NaN;
        x[1001] = float.NaN;

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, Spec);

        f.ShouldAllBe(b => b.Window.All(float.IsFinite));
    }

    [Fact]
    public void Bad_arguments_throw_argument_exceptions()
    {
        var done = new List<BeatFeatures>();
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(null!, 360));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec, 0));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec, double.NaN));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec with { SamplesBeforeFiducial = 128 }, 360));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec with { WindowSamples = 1 }, 360));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec with { TemplateBeats = 0 }, 360));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(Spec with { AmplitudeFloorMv = 0 }, 360));

        var e = new BeatFeatureExtractor(Spec, 360);
        Should.Throw<ArgumentException>(() => e.AddBeat(-1, done));
        e.AddBeat(100, done);
        Should.Throw<ArgumentException>(() => e.AddBeat(100, done));
        Should.Throw<ArgumentException>(() => e.AddBeat(50, done));
        Should.Throw<ArgumentException>(() => e.AddBeat(200, null!));
        Should.Throw<ArgumentException>(() => e.Process(new float[10], null!));
        Should.Throw<ArgumentException>(() => BeatFeatureExtractor.ExtractAll(new float[1000], 360, [500, 400], Spec));
    }

    [Fact]
    public void A_beat_registered_too_late_or_after_flush_is_an_invalid_operation()
    {
        var done = new List<BeatFeatures>();
        var e = new BeatFeatureExtractor(Spec, 360);
        e.Process(new float[360 * 30], done);
        Should.Throw<InvalidOperationException>(() => e.AddBeat(360, done));
        e.AddBeat(360 * 25, done); // 5 s late is fine
        e.Flush(done);
        done.ShouldHaveSingleItem();
        Should.Throw<InvalidOperationException>(() => e.AddBeat(360 * 29, done));
        Should.Throw<InvalidOperationException>(() => e.Process(new float[1], done));

        e.Reset();
        e.Process(new float[720], done);
        e.AddBeat(360, done);
        e.Flush(done);
        done.Count.ShouldBe(2);
    }

    /// <summary>
    /// Streams <paramref name="lead"/> (360 Hz) in random chunks of 1–3,000 samples and registers each beat once the stream
    /// has passed it, up to 2 s late (as a detector would, and later); then flushes.
    /// </summary>
    internal static List<BeatFeatures> StreamInRandomChunks(BeatWindowSpec spec, float[] lead, long[] beats, int seed)
    {
        var random = new Random(seed);
        var extractor = new BeatFeatureExtractor(spec, 360);
        var streamed = new List<BeatFeatures>();
        int fed = 0, next = 0;
        while (fed < lead.Length)
        {
            int n = Math.Min(lead.Length - fed, random.Next(1, 3000));
            extractor.Process(lead.AsSpan(fed, n), streamed);
            fed += n;
            long lateness = random.Next(0, 720);
            while (next < beats.Length && beats[next] + lateness < fed)
            {
                extractor.AddBeat(beats[next++], streamed);
            }
        }

        while (next < beats.Length)
        {
            extractor.AddBeat(beats[next++], streamed);
        }

        extractor.Flush(streamed);
        return streamed;
    }
}
