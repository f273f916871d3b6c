namespace HeartTwin.Cli.Load;

/// <summary>
/// Paces many periodic items with one timer: a wheel of <c>slots</c> slots that turns once per period. An item in slot s is due
/// at s·tick + r·period for rounds r = 1, 2 … (round 0 is the first batch being acquired). Spreading items over the slots
/// spreads their sends over the period instead of bursting them all at once. <see cref="Advance"/> catches up on every tick that
/// passed, so a late timer loses no due item.
/// </summary>
/// <typeparam name="T">The paced item.</typeparam>
internal sealed class TimerWheel<T>
{
    private readonly List<T>[] _slots;
    private long _lastTick = -1;

    public TimerWheel(TimeSpan period, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        Period = period;
        Tick = period / slots;
        _slots = Enumerable.Range(0, slots).Select(_ => new List<T>()).ToArray();
    }

    public TimeSpan Period { get; }

    public TimeSpan Tick { get; }

    public int Slots => _slots.Length;

    /// <summary>Puts an item in slot <paramref name="index"/> modulo the slot count.</summary>
    public void Add(T item, int index) => _slots[index % _slots.Length].Add(item);

    /// <summary>The items that fell due since the last call, with the time (since the wheel's origin) each was due.</summary>
    public List<(T Item, TimeSpan Due)> Advance(TimeSpan elapsed)
    {
        var due = new List<(T, TimeSpan)>();
        long tick = elapsed.Ticks / Tick.Ticks;
        for (long t = _lastTick + 1; t <= tick; t++)
        {
            long round = t / _slots.Length;
            if (round == 0)
            {
                continue;
            }

            var at = TimeSpan.FromTicks(t * Tick.Ticks);
            foreach (var item in _slots[t % _slots.Length])
            {
                due.Add((item, at));
            }
        }

        _lastTick = Math.Max(_lastTick, tick);
        return due;
    }
}
