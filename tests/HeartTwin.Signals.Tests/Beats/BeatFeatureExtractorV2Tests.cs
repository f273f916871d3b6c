using HeartTwin.Signals.Beats;

namespace HeartTwin.Signals.Tests.Beats;

/// <summary>Spec v2's patient-context channels and long RR baseline (issue 3).</summary>
[Trait("Regression", "issue-3")]
public class BeatFeatureExtractorV2Tests
{
    private static readonly BeatWindowSpec V2 = BeatWindowSpec.Version2;

    [Fact]
    public void Each_spec_states_its_channel_and_rr_feature_counts()
    {
        BeatWindowSpec.Version1.Channels.ShouldBe(2);
        BeatWindowSpec.Version1.RrFeatureCount.ShouldBe(6);
        BeatWindowSpec.Version1.FeatureLength.ShouldBe(256);
        V2.Channels.ShouldBe(4);
        V2.PreviousBeatChannelIndex.ShouldBe(2);
        V2.LongTemplateChannelIndex.ShouldBe(3);
        V2.FeatureLength.ShouldBe(4 * 128);
        V2.RrFeatureNames.Take(6).ShouldBe(BeatWindowSpec.Version1.RrFeatureNames);
        V2.RrFeatureCount.ShouldBe(V2.RrFeatureNames.Count);
        (V2 with { PreviousBeatChannel = false }).Channels.ShouldBe(3);
        (V2 with { PreviousBeatChannel = false }).LongTemplateChannelIndex.ShouldBe(2);
        BeatWindowSpec.FromVersion(2).ShouldBeSameAs(V2);
        Should.Throw<ArgumentOutOfRangeException>(() => BeatWindowSpec.FromVersion(4));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(V2 with { LongTemplateBeats = -1 }, 360));
    }

    [Fact]
    public void Features_have_the_spec_s_shape()
    {
        var beats = BeatTrain.Regular(300, 300, 8);
        var x = BeatTrain.Render(360, 2800, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2);

        f.Count.ShouldBe(8);
        f.ShouldAllBe(b => b.Window.Length == V2.FeatureLength && b.Rr.Length == V2.RrFeatureCount);
    }

    [Fact]
    public void Version_2_keeps_the_version_1_channels_and_rr_features()
    {
        var (lead, beats) = BeatRecords.Read("208", minutes: 10);

        var v1 = BeatFeatureExtractor.ExtractAll(lead, 360, beats, BeatWindowSpec.Version1);
        var v2 = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V2);

        v2.Count.ShouldBe(v1.Count);
        for (int i = 0; i < v1.Count; i++)
        {
            v2[i].Window.AsSpan(0, 256).ToArray().ShouldBe(v1[i].Window);
            v2[i].Rr.AsSpan(0, 6).ToArray().ShouldBe(v1[i].Rr);
        }
    }

    [Fact]
    public void The_previous_beat_channel_of_a_repeated_identical_beat_is_zero()
    {
        // RR of exactly 1 s at 360 Hz: every window sees the same samples once the high-pass has settled.
        var beats = BeatTrain.Regular(360, 360, 40);
        var x = BeatTrain.Render(360, 41 * 360, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2);

        BeatTrain.Channel(f[0].Window, 2).ShouldAllBe(v => v == 0f);
        foreach (var beat in f.Skip(15))
        {
            BeatTrain.Channel(beat.Window, 2).Max(v => Math.Abs(v)).ShouldBeLessThan(0.005f);
        }
    }

    [Fact]
    public void The_previous_beat_channel_is_this_beat_minus_the_one_before()
    {
        var (lead, beats) = BeatRecords.Read("119", minutes: 3);

        var f = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V2);

        for (int i = 1; i < f.Count; i++)
        {
            var expected = BeatTrain.Channel(f[i].Window, 0).Zip(BeatTrain.Channel(f[i - 1].Window, 0), (a, b) => a - b).ToArray();
            BeatTrain.Channel(f[i].Window, 2).ShouldBe(expected);
        }
    }

    [Fact]
    public void The_long_template_equals_the_beat_for_a_constant_stream()
    {
        var beats = BeatTrain.Regular(360, 360, 60);
        var x = BeatTrain.Render(360, 61 * 360, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2);

        BeatTrain.Channel(f[0].Window, 3).ShouldAllBe(v => v == 0f);
        foreach (var beat in f.Skip(30))
        {
            BeatTrain.Channel(beat.Window, 3).Max(v => Math.Abs(v)).ShouldBeLessThan(0.005f);
        }
    }

    [Fact]
    public void The_long_template_is_the_element_wise_median_of_up_to_128_previous_windows()
    {
        // 208 has frequent PVCs and couplets, so the medians differ from any one window; 12 minutes is over 128 beats.
        var (lead, beats) = BeatRecords.Read("208", minutes: 12);

        var f = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V2);

        f.Count.ShouldBeGreaterThan(300);
        foreach (var i in new[] { 1, 2, 7, 64, 127, 128, 129, 200, f.Count - 1 })
        {
            var history = f.Skip(Math.Max(0, i - 128)).Take(Math.Min(i, 128)).Select(b => BeatTrain.Channel(b.Window, 0)).ToList();
            var c0 = BeatTrain.Channel(f[i].Window, 0);
            var c3 = BeatTrain.Channel(f[i].Window, 3);
            for (int k = 0; k < 128; k++)
            {
                c3[k].ShouldBe(c0[k] - SortedMedian(history.Select(h => h[k])), 1e-6, $"beat {i}, sample {k}");
            }
        }
    }

    [Fact]
    public void A_run_of_ectopic_beats_takes_over_the_short_template_but_not_the_long_one()
    {
        // 60 normal beats, then 40 ectopic beats in a row, all 0.8 s apart at 360 Hz: long enough for the amplitude
        // reference (32 beats) and the 16-beat template to hold ectopic beats only, short enough that most of the
        // long template's 99 beats are normal.
        var beats = BeatTrain.Regular(360, 288, 100);
        var x = BeatTrain.Render(360, (int)beats[^1] + 720, beats, i => i >= 60 ? BeatTrain.Shape.Ectopic : BeatTrain.Shape.Normal);

        var last = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2)[^1];

        var shortDifference = BeatTrain.Energy(BeatTrain.Channel(last.Window, 1));
        var longDifference = BeatTrain.Energy(BeatTrain.Channel(last.Window, 3));
        longDifference.ShouldBeGreaterThan(100 * Math.Max(shortDifference, 1e-4));
    }

    [Fact]
    public void The_long_rr_baseline_is_the_median_of_the_last_100_intervals()
    {
        // 0.8 s intervals (at 100 Hz), then 40 premature ones of 0.5 s: the local mean follows them, the median does not.
        int[] intervals = [.. Enumerable.Repeat(80, 110), .. Enumerable.Repeat(50, 40)];
        var beats = BeatTrain.FromIntervals(50, intervals);
        var x = BeatTrain.Render(100, (int)beats[^1] + 200, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 100, beats, V2);

        int premature = 110 + 40 - 1; // the next-to-last beat: pre 0.5 s, post 0.5 s
        f[premature].Rr[2].ShouldBe(0.5f, 1e-6); // local: the last 10 intervals are all premature
        f[premature].Rr[6].ShouldBe(0.8f, 1e-6); // long: 60 of the last 100 are 0.8 s
        f[premature].Rr[7].ShouldBe(0.5f / 0.8f, 1e-6);
        f[premature].Rr[8].ShouldBe(0.5f / 0.8f, 1e-6);
        f[0].Rr[6].ShouldBe(0.8f, 1e-6); // the first beat's baseline is its substituted pre_rr
    }

    [Fact]
    public void A_stream_of_one_beat_has_a_zero_long_baseline_and_unit_ratios()
    {
        long[] beats = [360];
        var x = BeatTrain.Render(360, 1080, beats);

        var f = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2).ShouldHaveSingleItem();

        f.Rr.ShouldBe([0f, 0f, 0f, 1f, 1f, 1f, 0f, 1f, 1f]);
        f.Window.ShouldAllBe(v => float.IsFinite(v));
    }

    [Fact]
    public void Streaming_version_2_in_random_chunks_equals_the_offline_result()
    {
        var (lead, beats) = BeatRecords.Read("203", minutes: 8);
        var offline = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V2);

        var streamed = BeatFeatureExtractorTests.StreamInRandomChunks(V2, lead, beats, seed: 3);

        streamed.Count.ShouldBe(offline.Count);
        for (int i = 0; i < offline.Count; i++)
        {
            streamed[i].Window.ShouldBe(offline[i].Window);
            streamed[i].Rr.ShouldBe(offline[i].Rr);
        }
    }

    [Fact]
    public void Reset_forgets_the_long_template_and_the_previous_beat()
    {
        var beats = BeatTrain.Regular(300, 300, 20);
        var x = BeatTrain.Render(360, 6400, beats, i => i % 3 == 0 ? BeatTrain.Shape.Ectopic : BeatTrain.Shape.Normal);
        var extractor = new BeatFeatureExtractor(V2, 360);
        var first = new List<BeatFeatures>();
        BeatRecords.Feed(extractor, x, beats, first);

        extractor.Reset();
        var second = new List<BeatFeatures>();
        BeatRecords.Feed(extractor, x, beats, second);

        second.Count.ShouldBe(first.Count);
        for (int i = 0; i < first.Count; i++)
        {
            second[i].Window.ShouldBe(first[i].Window);
            second[i].Rr.ShouldBe(first[i].Rr);
        }
    }

    [Fact]
    public void Processing_samples_under_version_2_does_not_allocate()
    {
        var x = BeatTrain.Render(360, 3600, BeatTrain.Regular(300, 300, 10));
        var e = new BeatFeatureExtractor(V2, 360);
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


    private static float SortedMedian(IEnumerable<float> values)
    {
        var v = values.Order().ToArray();
        int n = v.Length;
        return (n & 1) == 1 ? v[n / 2] : (v[(n / 2) - 1] + v[n / 2]) / 2f;
    }
}
