using System.Runtime.InteropServices;
using HeartTwin.Signals.Beats;

namespace HeartTwin.Signals.Tests.Beats;

/// <summary>Spec v3: each stream's windows turned so that its dominant QRS points up (issue 3).</summary>
[Trait("Regression", "issue-3")]
public class BeatFeatureExtractorV3Tests
{
    private static readonly BeatWindowSpec V2 = BeatWindowSpec.Version2;
    private static readonly BeatWindowSpec V3 = BeatWindowSpec.Version3;

    [Fact]
    public void Version_3_is_version_2_with_the_polarity_rule()
    {
        V3.ShouldBe(V2 with { Version = 3, DominantPolarityUp = true });
        V3.Channels.ShouldBe(4);
        V3.RrFeatureNames.ShouldBe(V2.RrFeatureNames);
        V3.PolaritySearchSamples.ShouldBe(9); // ±50 ms at 180 Hz
        V3.PolarityHysteresis.ShouldBe(1.2);
        V2.DominantPolarityUp.ShouldBeFalse();
        BeatWindowSpec.FromVersion(3).ShouldBeSameAs(V3);
        V3.FeatureSpecName.ShouldBe("beat-window-v3");
        BeatWindowSpec.TryFromFeatureSpecName("beat-window-v3", out var named).ShouldBeTrue();
        named.ShouldBeSameAs(V3);
        Should.Throw<ArgumentOutOfRangeException>(() => BeatWindowSpec.FromVersion(4));
        BeatWindowSpec.TryFromFeatureSpecName("beat-window-v4", out _).ShouldBeFalse();
    }

    [Fact]
    public void Polarity_needs_the_long_template_and_a_hysteresis_of_at_least_one()
    {
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(V3 with { LongTemplateBeats = 0 }, 360))
            .Message.ShouldContain("long template");
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(V3 with { PolarityHysteresis = 0.9 }, 360));
        Should.Throw<ArgumentException>(() => new BeatFeatureExtractor(V3 with { PolaritySearchSeconds = double.NaN }, 360));
    }

    [Theory]
    [InlineData("119")]
    [InlineData("207")] // its rhythm lead's QRS points mostly down
    [InlineData("108")] // biphasic
    public void An_inverted_lead_gives_exactly_the_same_windows(string record)
    {
        var (lead, beats) = BeatRecords.Read(record, minutes: 10);
        var inverted = lead.Select(v => -v).ToArray();

        var asRecorded = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V3);
        var turned = BeatFeatureExtractor.ExtractAll(inverted, 360, beats, V3);

        turned.Count.ShouldBe(asRecorded.Count);
        for (int i = 0; i < asRecorded.Count; i++)
        {
            // Bytes, not float equality, which would take −0 for +0.
            MemoryMarshal.AsBytes(turned[i].Window.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(asRecorded[i].Window.AsSpan())).ShouldBeTrue($"beat {i}");
            turned[i].Rr.ShouldBe(asRecorded[i].Rr);
        }
    }

    [Fact]
    public void An_upright_stream_keeps_its_version_2_windows()
    {
        var (lead, beats) = BeatRecords.Read("119", minutes: 5);

        var v2 = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V2);
        var v3 = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V3);

        v3.Count.ShouldBe(v2.Count);
        for (int i = 0; i < v2.Count; i++)
        {
            v3[i].Window.ShouldBe(v2[i].Window);
        }
    }

    [Fact]
    public void A_stream_whose_qrs_points_down_is_turned_over_from_its_first_beat()
    {
        var (beats, x, extractor, v3) = StreamPointingDown(40);

        var v2 = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2);

        extractor.Polarity.ShouldBe(-1);
        for (int i = 0; i < v2.Count; i++)
        {
            v3[i].Window.ShouldBe(v2[i].Window.Select(v => -v).ToArray());
            var channel0 = BeatTrain.Channel(v3[i].Window, 0);
            channel0[V3.SamplesBeforeFiducial].ShouldBeGreaterThan(0.5f); // the R wave now points up
        }
    }

    [Fact]
    public void A_stream_turns_once_when_its_dominant_morphology_changes_side()
    {
        // 60 upright beats, then 240 beats of the same shape inverted: the long template (median of up to 128 windows)
        // changes side after about 64 of them, and the stream turns then, once.
        var beats = BeatTrain.Regular(300, 300, 300);
        var x = BeatTrain.Render(360, 301 * 300, beats, b => b < 60 ? BeatTrain.Shape.Normal : BeatTrain.Shape.Normal with { RMv = -1.2, SMv = 0.25, TMv = -0.3 });

        var signs = Signs(x, beats);

        signs.Take(60).ShouldAllBe(s => s == 1);
        signs[^1].ShouldBe(-1);
        Changes(signs).ShouldBe(1);
        int turn = Array.IndexOf(signs, -1);
        turn.ShouldBeInRange(60 + 50, 60 + 90);
    }

    [Fact]
    public void A_biphasic_stream_keeps_its_sign_while_its_r_and_s_trade_places_within_the_hysteresis()
    {
        // The R wave shrinks slowly from 0.9 to 0.7 mV against a 0.8 mV S wave, with a beat-to-beat wobble: the long
        // template's two deflections cross once, well within 1.2 of each other. Without hysteresis the stream turns.
        var beats = BeatTrain.Regular(300, 300, 400);
        var x = BeatTrain.Render(360, 401 * 300, beats, b => new BeatTrain.Shape((0.9 - (0.2 * b / 400.0)) * (1 + (0.05 * Math.Sin(b))), 0.010, SMv: -0.8, TMv: 0.2));

        var signs = Signs(x, beats, V3);
        var withoutHysteresis = Signs(x, beats, V3 with { PolarityHysteresis = 1.0 });

        signs.ShouldAllBe(s => s == signs[0]);
        signs[0].ShouldNotBe(0);
        Changes(withoutHysteresis).ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Reset_forgets_the_polarity()
    {
        var (beats, down, extractor, output) = StreamPointingDown(20);
        extractor.Polarity.ShouldBe(-1);

        extractor.Reset();

        extractor.Polarity.ShouldBe(0); // the guard: an upright first beat would also turn a kept −1 straight back
        var fresh = new List<BeatFeatures>();
        BeatRecords.Feed(extractor, down.Select(v => -v).ToArray(), beats, fresh);
        extractor.Polarity.ShouldBe(1);
        fresh.Select(f => f.Window).ShouldBe(output.Select(f => f.Window)); // the upright stream as the turned one was
    }

    [Fact]
    public void Streaming_version_3_in_random_chunks_equals_the_offline_result()
    {
        var (lead, beats) = BeatRecords.Read("207", minutes: 3);
        var offline = BeatFeatureExtractor.ExtractAll(lead, 360, beats, V3);
        var streamed = BeatFeatureExtractorTests.StreamInRandomChunks(V3, lead, beats, seed: 7);

        streamed.Select(f => f.Window).ShouldBe(offline.Select(f => f.Window));
    }

    /// <summary>A regular synthetic stream of <paramref name="count"/> beats with its QRS pointing down, fed to a v3 extractor.</summary>
    private static (long[] Beats, float[] Signal, BeatFeatureExtractor Extractor, List<BeatFeatures> Output) StreamPointingDown(int count)
    {
        var beats = BeatTrain.Regular(300, 300, count);
        var x = BeatTrain.Render(360, (count + 1) * 300, beats).Select(v => -v).ToArray();
        var extractor = new BeatFeatureExtractor(V3, 360);
        var output = new List<BeatFeatures>();
        BeatRecords.Feed(extractor, x, beats, output);
        return (beats, x, extractor, output);
    }

    /// <summary>Each beat's sign under v3 (or a variant of it), read from its window against v2's.</summary>
    private static int[] Signs(float[] x, long[] beats, BeatWindowSpec? spec = null)
    {
        var v2 = BeatFeatureExtractor.ExtractAll(x, 360, beats, V2);
        var v3 = BeatFeatureExtractor.ExtractAll(x, 360, beats, spec ?? V3);
        return [.. v2.Zip(v3, (a, b) => b.Window.SequenceEqual(a.Window) ? 1 : b.Window.SequenceEqual(a.Window.Select(v => -v)) ? -1 : 0)];
    }

    private static int Changes(int[] signs) => signs.Zip(signs.Skip(1), (a, b) => a != b ? 1 : 0).Sum();
}
