namespace HeartTwin.Signals.Beats;

/// <summary>
/// Element-wise medians of the last up to <c>depth</c> windows of <c>columns</c> values each (a beat template): per
/// column, a ring of the values in arrival order and the same values kept sorted. Adding a window replaces the oldest
/// value of each column by binary search and one short shift, so reading a median costs nothing and an update about
/// 2 log2(depth) comparisons plus a move of at most <c>depth</c> floats, instead of a sort or selection of the column
/// per beat. The medians are exactly those of the stored values (the mean of the two middle ones for an even count).
/// </summary>
/// <remarks>
/// Storage starts at <see cref="InitialCapacity"/> windows and doubles up to the depth as windows arrive (a few times per
/// stream), then never allocates again. Up front, spec v2's 128-beat template took 128 KiB per stream at once: about
/// 130 MB in the first second of a 1,000-patient twin, and as much for streams that end within minutes. (It was not
/// what stalls that twin's first seconds under load: docs/benchmarks.md.) Not thread-safe. Values must not be NaN.
/// </remarks>
internal sealed class SlidingColumnMedians
{
    /// <summary>Windows of storage before the first growth.</summary>
    public const int InitialCapacity = 8;

    private readonly int _columns;
    private readonly int _depth;
    private int _capacity;   // each column's block length: grows to _depth while the store fills
    private float[] _ring;   // column-major: _capacity values per column, in arrival order (a ring at _position once full)
    private float[] _sorted; // column-major: the first Count values of each column's block, ascending
    private int _position;

    /// <summary>Creates the store for windows of <paramref name="columns"/> values, keeping the last <paramref name="depth"/>.</summary>
    public SlidingColumnMedians(int columns, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _columns = columns;
        _depth = depth;
        _capacity = Math.Min(depth, InitialCapacity);
        _ring = new float[columns * _capacity];
        _sorted = new float[columns * _capacity];
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
        var sorted = _sorted.AsSpan(column * _capacity, Count);
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

        if (Count == _capacity && _capacity < _depth)
        {
            Grow(Math.Min(_depth, _capacity * 2));
        }

        bool full = Count == _depth;
        for (int k = 0; k < _columns; k++)
        {
            int block = k * _capacity;
            var sorted = _sorted.AsSpan(block, _capacity);
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

    // While filling, the ring has not wrapped (_position == Count), so each column's first Count values move as they are.
    private void Grow(int capacity)
    {
        var ring = new float[_columns * capacity];
        var sorted = new float[_columns * capacity];
        for (int k = 0; k < _columns; k++)
        {
            _ring.AsSpan(k * _capacity, Count).CopyTo(ring.AsSpan(k * capacity));
            _sorted.AsSpan(k * _capacity, Count).CopyTo(sorted.AsSpan(k * capacity));
        }

        _ring = ring;
        _sorted = sorted;
        _capacity = capacity;
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
