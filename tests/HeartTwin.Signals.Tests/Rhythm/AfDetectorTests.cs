using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Rhythm;

public class AfDetectorTests
{
    private static readonly int[] Seeds = [1, 2, 3];

    private static AfAnalysis Run(IEnumerable<double> rr) => AfDetector.Analyze(SyntheticRr.Times(rr));

    private static int AfCount(AfAnalysis a) => a.Beats.Count(b => b.IsAf);

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(1.2)]
    public void Regular_sinus_rhythm_is_never_AF(double meanRr)
    {
        foreach (var seed in Seeds)
        {
            var a = Run(SyntheticRr.Sinus(1500, new Random(seed), meanRr));
            AfCount(a).ShouldBe(0);
            a.Events.ShouldBeEmpty();
        }
    }

    [Fact]
    public void Marked_respiratory_sinus_arrhythmia_is_not_AF()
    {
        // ±80 ms over a 5-beat breath at 60 bpm: every 8-beat window holds intervals 160 ms apart, but the pattern repeats.
        var a = Run(SyntheticRr.Sinus(1500, new Random(4), 1.0, rsaSeconds: 0.08, jitterSeconds: 0.01));
        AfCount(a).ShouldBe(0);
    }

    [Theory]
    [InlineData(8, 0.6, 2.0)]   // ventricular premature beats, full compensatory pause
    [InlineData(5, 0.6, 2.0)]
    [InlineData(6, 0.7, 1.8)]   // atrial premature beats, the sinus node reset
    public void Sinus_rhythm_with_isolated_premature_beats_is_not_AF(int every, double prematurity, double pauseBeats)
    {
        foreach (var seed in Seeds)
        {
            var random = new Random(seed);
            var rr = SyntheticRr.WithPrematureBeats(SyntheticRr.Sinus(1500, random), random, every, prematurity, pauseBeats);
            var a = Run(rr);
            AfCount(a).ShouldBe(0, $"seed {seed}");
            a.Events.ShouldBeEmpty();
        }
    }

    [Fact]
    public void Bigeminy_is_not_AF()
    {
        foreach (var seed in Seeds)
        {
            var random = new Random(seed);
            var sinus = SyntheticRr.Sinus(1500, random);
            var rr = sinus.Select((r, i) => i % 2 == 0 ? 0.6 * r : 1.4 * r).ToList();
            AfCount(Run(rr)).ShouldBe(0, $"seed {seed}");
        }
    }

    [Fact]
    public void Trigeminy_is_not_AF()
    {
        var sinus = SyntheticRr.Sinus(1500, new Random(5));
        var rr = sinus.Select((r, i) => (i % 3) switch { 0 => r, 1 => 0.6 * r, _ => 1.4 * r }).ToList();
        AfCount(Run(rr)).ShouldBe(0);
    }

    [Fact]
    public void Missed_and_extra_detections_in_sinus_rhythm_are_not_AF()
    {
        var random = new Random(6);
        var rr = new List<double>();
        foreach (var (r, i) in SyntheticRr.Sinus(1500, random).Select((r, i) => (r, i)))
        {
            if (i % 23 == 11)
            {
                rr.Add(2 * r);                 // a missed beat: one doubled interval
            }
            else if (i % 31 == 17)
            {
                rr.Add(0.35 * r);              // a spurious detection splits an interval
                rr.Add(0.65 * r);
            }
            else
            {
                rr.Add(r);
            }
        }

        AfCount(Run(rr)).ShouldBe(0);
    }

    [Fact]
    public void Random_irregular_RR_is_AF_throughout()
    {
        foreach (var seed in Seeds)
        {
            var a = Run(SyntheticRr.Fibrillation(1000, new Random(seed)));
            AfCount(a).ShouldBeGreaterThanOrEqualTo(990, $"seed {seed}");
            a.Events.Count.ShouldBe(1);
            a.Events[0].Kind.ShouldBe(AfEventKind.Onset);
            a.Events[0].BeatIndex.ShouldBeLessThanOrEqualTo(5);
            a.Beats.Where(b => b.IsAf).ShouldAllBe(b => b.Statistic > 0.725 && b.Entropy > -1.4);
        }
    }

    [Fact]
    public void AF_with_ventricular_premature_beats_is_still_AF()
    {
        var random = new Random(7);
        var rr = SyntheticRr.WithPrematureBeats(SyntheticRr.Fibrillation(1000, random), random, 6, 0.5, 2.0);
        AfCount(Run(rr)).ShouldBeGreaterThanOrEqualTo(980);
    }

    [Fact]
    public void An_AF_episode_is_reported_at_the_right_beats_within_the_stated_delay()
    {
        foreach (var seed in Seeds)
        {
            var random = new Random(seed);
            var rr = SyntheticRr.Sinus(400, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(400, random)).ToList();
            var times = SyntheticRr.Times(rr);
            var a = AfDetector.Analyze(times);
            const int onset = 401, offset = 701; // interval 400 is the first of AF; it ends at beat 401

            a.Events.Count.ShouldBe(2, $"seed {seed}");
            var (on, off) = (a.Events[0], a.Events[1]);
            on.Kind.ShouldBe(AfEventKind.Onset);
            off.Kind.ShouldBe(AfEventKind.Offset);
            on.BeatIndex.ShouldBeInRange(onset - 15, onset + 15, $"seed {seed}");
            off.BeatIndex.ShouldBeInRange(offset - 15, offset + 15, $"seed {seed}");
            on.TimeSeconds.ShouldBe(times[on.BeatIndex]);

            // The onset is confirmed once the run is MinEpisodeBeats long, after the look-ahead: within MaxDelayBeats.
            var delay = new AfDetectorOptions().MaxDelayBeats;
            on.DetectedAtSeconds.ShouldBeLessThanOrEqualTo(times[onset + delay]);
            on.DetectedAtSeconds.ShouldBeGreaterThan(times[onset]);
            off.DetectedAtSeconds.ShouldBeLessThanOrEqualTo(times[offset + delay]);

            var flagged = a.Beats.Where(b => b.IsAf).Select(b => (int)b.BeatIndex).ToHashSet();
            Enumerable.Range(onset + 15, 300 - 30).ShouldAllBe(i => flagged.Contains(i));
            flagged.ShouldAllBe(i => i >= onset - 15 && i < offset + 15);
        }
    }

    [Fact]
    public void A_brief_irregular_run_shorter_than_the_minimum_episode_is_not_reported()
    {
        var random = new Random(8);
        var rr = SyntheticRr.Sinus(400, random).Concat(SyntheticRr.Fibrillation(12, random)).Concat(SyntheticRr.Sinus(400, random)).ToList();
        var a = Run(rr);
        a.Events.ShouldBeEmpty();
        AfCount(a).ShouldBe(0);
    }

    [Fact]
    public void Streaming_reports_each_beat_once_in_order_within_MaxDelayBeats()
    {
        var random = new Random(9);
        var rr = SyntheticRr.Sinus(300, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(300, random));
        var times = SyntheticRr.Times(rr);
        var detector = new AfDetector();
        var beats = new List<AfBeat>();
        var events = new List<AfEpisodeEvent>();
        for (var i = 0; i < times.Length; i++)
        {
            detector.AddBeat(times[i], beats, events);
            if (i >= detector.MaxDelayBeats)
            {
                beats.Count.ShouldBeGreaterThanOrEqualTo(i - detector.MaxDelayBeats + 1, $"after beat {i}");
            }
        }

        detector.Flush(beats, events);
        beats.Select(b => b.BeatIndex).ShouldBe(Enumerable.Range(0, times.Length).Select(i => (long)i));
        beats.Select(b => b.TimeSeconds).ShouldBe(times);
        events.Select(e => e.Kind).ShouldBe([AfEventKind.Onset, AfEventKind.Offset]);
        events[0].DetectedAtSeconds.ShouldBeLessThan(events[1].DetectedAtSeconds);
        Should.Throw<InvalidOperationException>(() => detector.AddBeat(times[^1] + 1, beats, events));
    }

    [Fact]
    public void Decisions_do_not_depend_on_the_sampling_rate_of_the_beat_times()
    {
        var random = new Random(10);
        var rr = SyntheticRr.Sinus(300, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(300, random));
        var times = SyntheticRr.Times(rr);
        var at360 = AfDetector.Analyze(times.Select(t => (long)Math.Round(t * 360)).ToArray(), 360);
        var at250 = AfDetector.Analyze(times.Select(t => (long)Math.Round(t * 250)).ToArray(), 250);
        var at128 = AfDetector.Analyze(times.Select(t => (long)Math.Round(t * 128)).ToArray(), 128);
        var differ250 = at360.Beats.Zip(at250.Beats).Count(p => p.First.IsAf != p.Second.IsAf);
        var differ128 = at360.Beats.Zip(at128.Beats).Count(p => p.First.IsAf != p.Second.IsAf);
        differ250.ShouldBeLessThanOrEqualTo(3);
        differ128.ShouldBeLessThanOrEqualTo(6);
        at128.Events.Count.ShouldBe(2);
    }

    [Fact]
    public void Too_short_a_stream_is_reported_as_not_AF_without_statistics()
    {
        var a = AfDetector.Analyze([1.0, 1.5, 2.3, 2.6, 3.5]);
        a.Beats.Count.ShouldBe(5);
        a.Beats.ShouldAllBe(b => !b.IsAf && double.IsNaN(b.Statistic));
        AfDetector.Analyze([]).Beats.ShouldBeEmpty();
        AfDetector.Analyze([4.0]).Beats.Count.ShouldBe(1);
    }

    [Fact]
    public void Beat_times_must_increase_and_options_must_be_in_range()
    {
        var detector = new AfDetector();
        var beats = new List<AfBeat>();
        var events = new List<AfEpisodeEvent>();
        detector.AddBeat(1.0, beats, events);
        Should.Throw<ArgumentOutOfRangeException>(() => detector.AddBeat(1.0, beats, events));
        Should.Throw<ArgumentOutOfRangeException>(() => detector.AddBeat(double.NaN, beats, events));
        Should.Throw<ArgumentOutOfRangeException>(() => new AfDetector(new AfDetectorOptions { SmoothingFactor = 0 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new AfDetector(new AfDetectorOptions { LookAheadBeats = 4 }));
        Should.Throw<ArgumentOutOfRangeException>(() => new AfDetector(new AfDetectorOptions { IrregularityWindowBeats = 1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => AfDetector.Analyze([1L, 2L], 0));
    }

    [Theory]
    [InlineData("106")]
    [InlineData("208")]
    public void Ventricular_ectopy_reads_as_AF_until_its_beats_are_flagged(string record)
    {
        // Couplets, trigeminy and variable coupling in sinus rhythm (no AF in either record): the median filter of the
        // published detector removes isolated premature beats only. Flags from the reference's V beats here; the twin's
        // come from the beat model (eval af).
        var database = WfdbDatabase.Open(TestData.MitDb);
        var beats = database.ReadAnnotations(record).Where(a => a.IsBeat).ToList();
        var times = beats.Select(b => b.Sample / 360.0).ToArray();
        var ventricular = beats.Select(b => b.Mnemonic == "V").ToArray();

        var plain = AfDetector.Analyze(times);
        var flagged = AfDetector.Analyze(times, ventricular);

        AfCount(plain).ShouldBeGreaterThan(300);
        AfCount(flagged).ShouldBe(0);
        flagged.Events.ShouldBeEmpty();
    }

    [Fact]
    public void AF_with_flagged_ventricular_beats_is_still_AF()
    {
        var random = new Random(12);
        var rr = SyntheticRr.WithPrematureBeats(SyntheticRr.Fibrillation(1000, random), random, 6, 0.5, 2.0);
        var times = SyntheticRr.Times(rr);
        var ventricular = times.Select((_, i) => i % 6 == 3 || i % 17 == 0).ToArray();
        AfCount(AfDetector.Analyze(times, ventricular)).ShouldBeGreaterThanOrEqualTo(980);
    }

    [Fact]
    public void Without_flags_or_with_evening_out_turned_off_the_published_detector_decides()
    {
        var random = new Random(13);
        var rr = SyntheticRr.Sinus(300, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(300, random));
        var times = SyntheticRr.Times(rr);
        var ventricular = times.Select((_, i) => i % 5 == 2).ToArray();
        var plain = AfDetector.Analyze(times);

        AfDetector.Analyze(times, new bool[times.Length]).ShouldBeEquivalentTo(plain);
        AfDetector.Analyze(times, ventricular, new AfDetectorOptions { MaxEctopicRunBeats = 0 }).ShouldBeEquivalentTo(plain);
        AfDetector.Analyze(times, ventricular).Beats.Select(b => b.Statistic).ShouldNotBe(plain.Beats.Select(b => b.Statistic));
    }

    [Fact]
    public void A_ventricular_run_longer_than_MaxEctopicRunBeats_is_a_rhythm_and_is_left_as_it_is()
    {
        // Sinus rhythm with one 12-beat run of ventricular tachycardia: too long to be evened out.
        var random = new Random(14);
        var rr = SyntheticRr.Sinus(200, random).Concat(Enumerable.Repeat(0.4, 12)).Concat(SyntheticRr.Sinus(200, random)).ToList();
        var times = SyntheticRr.Times(rr);
        var run = times.Select((_, i) => i is > 200 and <= 212).ToArray();
        run.Count(f => f).ShouldBe(12);
        var plain = AfDetector.Analyze(times);

        AfDetector.Analyze(times, run).ShouldBeEquivalentTo(plain);

        // A run of 8 among the uneven sinus beats is evened out: the intervals the detector judges change, the beats' times do not.
        // (Inside the tachycardia the run would already be even, so evening it would change nothing.)
        var shortRun = times.Select((_, i) => i is > 100 and <= 108).ToArray();
        var evened = AfDetector.Analyze(times, shortRun);
        evened.Beats.Select(b => b.Statistic).ShouldNotBe(plain.Beats.Select(b => b.Statistic));
        evened.Beats.Select(b => b.TimeSeconds).ShouldBe(times);
    }

    [Fact]
    public void Streaming_with_flagged_beats_reports_each_beat_once_in_order_within_MaxDelayBeats()
    {
        var random = new Random(15);
        var rr = SyntheticRr.Sinus(300, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(300, random));
        var times = SyntheticRr.Times(rr);
        var detector = new AfDetector();
        var beats = new List<AfBeat>();
        var events = new List<AfEpisodeEvent>();
        for (var i = 0; i < times.Length; i++)
        {
            // Runs of 1 to 8 flagged beats, and one at the very end that no beat closes.
            var ventricular = (i % 40) < (i / 40 % 8) + 1 || i >= times.Length - 3;
            detector.AddBeat(times[i], ventricular, beats, events);
            if (i >= detector.MaxDelayBeats)
            {
                beats.Count.ShouldBeGreaterThanOrEqualTo(i - detector.MaxDelayBeats + 1, $"after beat {i}");
            }
        }

        detector.Flush(beats, events);
        beats.Select(b => b.BeatIndex).ShouldBe(Enumerable.Range(0, times.Length).Select(i => (long)i));
        beats.Select(b => b.TimeSeconds).ShouldBe(times);
        events.Select(e => e.Kind).ShouldBe([AfEventKind.Onset, AfEventKind.Offset]);
        Should.Throw<ArgumentException>(() => AfDetector.Analyze(times, new bool[3]));
        Should.Throw<ArgumentOutOfRangeException>(() => new AfDetector(new AfDetectorOptions { MaxEctopicRunBeats = -1 }));
    }

    [Fact]
    public void Without_entropy_confirmation_or_refinement_the_paper_detector_still_finds_AF()
    {
        var random = new Random(11);
        var rr = SyntheticRr.Sinus(400, random).Concat(SyntheticRr.Fibrillation(300, random)).Concat(SyntheticRr.Sinus(400, random));
        var options = new AfDetectorOptions { UseEntropyConfirmation = false, BoundaryRefinementBeats = 0, LookAheadBeats = 0 };
        var a = AfDetector.Analyze(SyntheticRr.Times(rr), options);
        a.Beats.Where(b => b.IsAf).Count(b => b.BeatIndex is > 400 and <= 700).ShouldBeGreaterThan(240);
        a.Beats.Count(b => b.IsAf && b.BeatIndex <= 400).ShouldBe(0);
        a.Beats.ShouldAllBe(b => double.IsNaN(b.Entropy) || b.BeatIndex < 8);
    }
}
