namespace HeartTwin.Signals.Beats;

/// <summary>
/// Element-wise medians of the last up to <c>depth</c> windows of <c>columns</c> values each (a beat template): per
/// column, a ring of the values in arrival order and the same values kept sorted. Adding a window replaces the oldest
/// value of each column by binary search and one short shift, so reading a median costs nothing and an update about
/// 2 log2(depth) comparisons plus a move of at most <c>depth</c> floats, instead of a sort or selection of the column
/// per beat. The medians are exactly those of the stored values (the mean of the two middle ones for an even count).
/// </summary>
/// <remarks>Allocation-free after construction; not thread-safe. Values must not be NaN.</remarks>
internal sealed class SlidingColumnMedians
{
    private readonly int _columns;
    private readonly int _depth;
    private readonly float[] _ring;   // column-major: _depth values per column, in arrival order (a ring at _position)
    private readonly float[] _sorted; // column-major: the first Count values of each column's block, ascending
    private int _position;

    /// <summary>Creates the store for windows of <paramref name="columns"/> values, keeping the last <paramref name="depth"/>.</summary>
    public SlidingColumnMedians(int columns, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _columns = columns;
        _depth = depth;
        _ring = new float[columns * depth];
        _sorted = new float[columns * depth];
    }

    /// <summary>Windows stored (at most the depth).</summary>
    public int Count { get; private set; }

    /// <summary>Forgets every window.</summary>
    public void Clear()
    {
        Count = 0;
        _position = 0;
    }

    /// <summary>Median of the stored values of <paramref name="column"/>; requires <see cref="Count"/> &gt; 0.</summary>
    public float Median(int column)
    {
        var sorted = _sorted.AsSpan(column * _depth, Count);
        int n = sorted.Length;
        return (n & 1) == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2f;
    }

    /// <summary>Stores a window, replacing the oldest once <c>depth</c> are stored.</summary>
    /// <param name="window">One value per column.</param>
    public void Add(ReadOnlySpan<float> window)
    {
        if (window.Length != _columns)
        {
            throw new ArgumentException($"A window holds {_columns} values; got {window.Length}.", nameof(window));
        }

        bool full = Count == _depth;
        for (int k = 0; k < _columns; k++)
        {
            int block = k * _depth;
            var sorted = _sorted.AsSpan(block, _depth);
            float value = window[k];
            int n = Count;
            if (full)
            {
                // Take the oldest value out of the sorted block (any equal one will do).
                float old = _ring[block + _position];
                int at = LowerBound(sorted[..n], old);
                sorted.Slice(at + 1, n - at - 1).CopyTo(sorted[at..]);
                n--;
            }

            int insert = LowerBound(sorted[..n], value);
            sorted.Slice(insert, n - insert).CopyTo(sorted[(insert + 1)..]);
            sorted[insert] = value;
            _ring[block + _position] = value;
        }

        _position = (_position + 1) % _depth;
        if (!full)
        {
            Count++;
        }
    }

    /// <summary>Index of the first value not less than <paramref name="value"/>.</summary>
    private static int LowerBound(ReadOnlySpan<float> sorted, float value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
