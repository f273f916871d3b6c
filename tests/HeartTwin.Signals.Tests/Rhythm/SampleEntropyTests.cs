using HeartTwin.Signals.Rhythm;

namespace HeartTwin.Signals.Tests.Rhythm;

public class SampleEntropyTests
{
    [Fact]
    public void A_strictly_alternating_series_has_hand_counted_matches_and_zero_entropy()
    {
        // Templates are the first n − 1 = 4 points 1 2 1 2. Pairs within 0.1: (0,2) and (1,3), so B = 2;
        // their successors (2,2) and (1,1) match too, so A = 2 and SampEn = −ln(2/2) = 0.
        double[] x = [1, 2, 1, 2, 1];
        SampleEntropy.MatchCounts(x, 0.1).ShouldBe((2L, 2L));
        SampleEntropy.Compute(x, 0.1).ShouldBe(0, 1e-12);
        SampleEntropy.Cosen(x, 0.1).ShouldBe(Math.Log(0.2) - Math.Log(7.0 / 5), 1e-12);
    }

    [Fact]
    public void Half_of_the_matches_continuing_gives_ln_2()
    {
        // Templates 1 1 1 (points 0..2); all 3 pairs match (B = 3); successors 1 1 3: only (0,1) continues (A = 1).
        double[] x = [1, 1, 1, 3];
        SampleEntropy.MatchCounts(x, 0.5).ShouldBe((1L, 3L));
        SampleEntropy.Compute(x, 0.5).ShouldBe(Math.Log(3), 1e-12);
    }

    [Fact]
    public void No_repeated_pattern_is_infinite_entropy_and_too_short_a_series_is_NaN()
    {
        SampleEntropy.Compute([1, 2, 3, 4, 5], 0.1).ShouldBe(double.PositiveInfinity);
        SampleEntropy.Cosen([0.4, 0.9, 0.6, 1.0], 0.03).ShouldBe(double.PositiveInfinity);
        SampleEntropy.Compute([1, 1], 0.1).ShouldBe(double.NaN);
    }
}
