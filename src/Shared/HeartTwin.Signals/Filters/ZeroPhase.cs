using System.Buffers;

namespace HeartTwin.Signals.Filters;

/// <summary>
/// Offline zero-phase filtering: the signal is filtered forwards and then backwards, so phase shifts cancel
/// (no delay, QRS peaks stay where they are) and the magnitude response is squared (a Butterworth cutoff is
/// then 6.02 dB down instead of 3.01 dB, and the roll-off doubles). Same algorithm as scipy.signal.sosfiltfilt
/// with padtype='odd': odd reflection about each end, and each pass starts from the filter's steady state
/// for the first value it sees, so constants and steps come through without a start-up transient.
/// </summary>
/// <remarks>Not causal, so only for recorded signals. Allocates one temporary buffer per call (pooled).</remarks>
public static class ZeroPhase
{
    /// <summary>
    /// Number of samples reflected at each end for <paramref name="design"/>: 3 × (2·sections + 1), less the
    /// sections that are first order, as scipy's sosfiltfilt uses. Shorter signals use length − 1.
    /// </summary>
    /// <param name="design">The filter.</param>
    /// <returns>Padding length in samples.</returns>
    public static int DefaultPadLength(SosFilter design)
    {
        ArgumentNullException.ThrowIfNull(design);
        int b2Zero = 0, a2Zero = 0;
        foreach (var s in design.Sections)
        {
            b2Zero += s.B2 == 0.0 ? 1 : 0;
            a2Zero += s.A2 == 0.0 ? 1 : 0;
        }

        return 3 * ((2 * design.SectionCount) + 1 - Math.Min(b2Zero, a2Zero));
    }

    /// <summary>
    /// Filters <paramref name="input"/> forwards and backwards with <paramref name="design"/>'s sections.
    /// The design's own state is neither used nor changed. In-place is allowed.
    /// </summary>
    /// <param name="design">The filter whose sections are applied; typically from <see cref="FilterDesign"/>.</param>
    /// <param name="input">Samples of the whole signal.</param>
    /// <param name="output">Receives the filtered signal; at least as long as <paramref name="input"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <paramref name="input"/>.</exception>
    public static void Filter(SosFilter design, ReadOnlySpan<float> input, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(design);
        if (output.Length < input.Length)
        {
            throw new ArgumentException($"Output length {output.Length} is shorter than input length {input.Length}.", nameof(output));
        }

        int n = input.Length;
        if (n == 0)
        {
            return;
        }

        int pad = Math.Min(DefaultPadLength(design), n - 1);
        int total = n + (2 * pad);
        var sections = design.Sections.ToArray();
        double[] buffer = ArrayPool<double>.Shared.Rent(total);
        double[] state = new double[2 * sections.Length];
        try
        {
            var ext = buffer.AsSpan(0, total);
            // Odd extension: ext[pad − k] = 2·x[0] − x[k] and ext[pad + n − 1 + k] = 2·x[n−1] − x[n−1−k],
            // which continues the local slope so the edges look like neither a step nor a spike.
            double first = input[0], last = input[n - 1];
            for (int k = 1; k <= pad; k++)
            {
                ext[pad - k] = (2.0 * first) - input[k];
                ext[pad + n - 1 + k] = (2.0 * last) - input[n - 1 - k];
            }

            for (int i = 0; i < n; i++)
            {
                ext[pad + i] = input[i];
            }

            SosFilter.SteadyState(sections, ext[0], state);
            for (int i = 0; i < total; i++)
            {
                ext[i] = SosFilter.Step(sections, state, ext[i]);
            }

            SosFilter.SteadyState(sections, ext[total - 1], state);
            for (int i = total - 1; i >= 0; i--)
            {
                ext[i] = SosFilter.Step(sections, state, ext[i]);
            }

            for (int i = 0; i < n; i++)
            {
                output[i] = (float)ext[pad + i];
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>Zero-phase filters <paramref name="input"/> into a new array.</summary>
    /// <param name="design">The filter.</param>
    /// <param name="input">Samples of the whole signal.</param>
    /// <returns>The filtered signal, same length as the input.</returns>
    public static float[] Filter(SosFilter design, ReadOnlySpan<float> input)
    {
        var output = new float[input.Length];
        Filter(design, input, output);
        return output;
    }
}
