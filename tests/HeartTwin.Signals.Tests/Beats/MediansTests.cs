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

public class SlidingColumnMediansTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(16)]
    [InlineData(128)]
    public void Each_column_s_median_is_that_of_its_last_depth_values(int depth)
    {
        const int columns = 5;
        var store = new SlidingColumnMedians(columns, depth);
        var history = new List<float[]>();
        var random = new Random(depth);
        for (int w = 0; w < (3 * depth) + 7; w++)
        {
            // Coarse values in odd windows, so that ties and evictions of equal values happen.
            var window = Enumerable.Range(0, columns).Select(_ => w % 2 == 0 ? (float)random.NextDouble() : random.Next(3)).ToArray();
            store.Add(window);
            history.Add(window);

            var kept = history.Skip(Math.Max(0, history.Count - depth)).ToList();
            store.Count.ShouldBe(kept.Count);
            for (int k = 0; k < columns; k++)
            {
                var sorted = kept.Select(h => h[k]).Order().ToArray();
                int n = sorted.Length;
                float expected = (n & 1) == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2f;
                store.Median(k).ShouldBe(expected, $"window {w}, column {k}");
            }
        }

        store.Clear();
        store.Count.ShouldBe(0);
        Should.Throw<ArgumentException>(() => store.Add(new float[columns + 1]));
    }
}
