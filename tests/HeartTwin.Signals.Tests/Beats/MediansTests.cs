using HeartTwin.Signals.Beats;

namespace HeartTwin.Signals.Tests.Beats;

public class MediansTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(127)]
    [InlineData(128)]
    public void The_median_equals_the_middle_of_the_sorted_values(int n)
    {
        var random = new Random(n);
        for (int trial = 0; trial < 200; trial++)
        {
            // Few distinct values in half the trials, so that ties around the middle are exercised.
            var values = Enumerable.Range(0, n).Select(_ => trial % 2 == 0 ? (float)random.NextDouble() : random.Next(4)).ToArray();
            var sorted = values.Order().ToArray();
            float expected = (n & 1) == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2f;

            Medians.Median(values.AsSpan()).ShouldBe(expected);
            Medians.Median(values.Select(v => (double)v).ToArray().AsSpan()).ShouldBe((double)expected, 1e-7);
        }
    }
}
