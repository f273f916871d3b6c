using System.Numerics;

namespace HeartTwin.Signals.Beats;

/// <summary>
/// In-place medians for the beat extractor's templates and baselines: insertion sort for the short histories, selection
/// (Wirth's algorithm, linear on average) for the long ones, where sorting 128 values for each of 128 window samples per beat
/// would cost several times more.
/// </summary>
internal static class Medians
{
    /// <summary>Up to this many values, insertion sort beats selection.</summary>
    private const int InsertionSortLimit = 32;

    /// <summary>
    /// Median of <paramref name="values"/>, reordering them; the mean of the two middle values for an even count.
    /// </summary>
    /// <param name="values">At least one value, none NaN.</param>
    /// <returns>The median.</returns>
    public static T Median<T>(Span<T> values)
        where T : INumber<T>
    {
        int n = values.Length;
        if (n <= InsertionSortLimit)
        {
            InsertionSort(values);
            return (n & 1) == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / (T.One + T.One);
        }

        T upper = Select(values, n / 2);
        if ((n & 1) == 1)
        {
            return upper;
        }

        // Selection leaves every value before index n/2 at most the value there, so the lower middle is their maximum.
        T lower = values[0];
        for (int i = 1; i < n / 2; i++)
        {
            if (values[i] > lower)
            {
                lower = values[i];
            }
        }

        return (lower + upper) / (T.One + T.One);
    }

    /// <summary>The <paramref name="k"/>-th smallest value (from 0), partitioning the span around it.</summary>
    internal static T Select<T>(Span<T> values, int k)
        where T : INumber<T>
    {
        int lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            T pivot = values[k];
            int i = lo, j = hi;
            do
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (pivot < values[j])
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            while (i <= j);

            if (j < k)
            {
                lo = i;
            }

            if (k < i)
            {
                hi = j;
            }
        }

        return values[k];
    }

    private static void InsertionSort<T>(Span<T> values)
        where T : INumber<T>
    {
        for (int i = 1; i < values.Length; i++)
        {
            T v = values[i];
            int j = i - 1;
            while (j >= 0 && values[j] > v)
            {
                values[j + 1] = values[j];
                j--;
            }

            values[j + 1] = v;
        }
    }
}
