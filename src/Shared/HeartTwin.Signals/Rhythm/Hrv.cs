namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Time-domain heart-rate variability (SDNN, RMSSD, pNN50) after the Task Force of the ESC and NASPE (1996),
/// "Heart rate variability: standards of measurement, physiological interpretation and clinical use".
/// </summary>
/// <remarks>
/// <para>Only normal-to-normal (NN) intervals count. An RR interval is rejected when it is not finite, lies outside
/// the physiological range [200, 3000] ms (<see cref="HeartRate.IsPhysiological"/>; such values come from missed or
/// spurious detections), or, when beat labels are given, when either of its two beats is not normal.</para>
/// <para>Successive differences are formed only between accepted intervals that are adjacent in the input: a
/// difference across a rejected interval would measure the gap, not the variability.</para>
/// <para>Nothing here throws for short input: with no accepted interval every metric is NaN; with one, only the mean
/// and mean heart rate are defined.</para>
/// </remarks>
public static class Hrv
{
    /// <summary>Threshold of pNN50 in ms: successive differences strictly larger than this count.</summary>
    public const double Nn50ThresholdMs = 50;

    /// <summary>HRV of a series of RR intervals, rejecting artefacts.</summary>
    /// <param name="rrMs">RR intervals in ms, in time order.</param>
    /// <returns>The metrics.</returns>
    public static HrvMetrics Compute(ReadOnlySpan<double> rrMs) => Compute(rrMs, []);

    /// <summary>HRV of a series of RR intervals, using only intervals between two normal beats.</summary>
    /// <param name="rrMs">RR intervals in ms, in time order; interval i runs from beat i to beat i + 1.</param>
    /// <param name="isNormalBeat">One flag per beat (<c>rrMs.Length + 1</c> of them), true for a normal (sinus) beat;
    /// empty to treat every beat as normal.</param>
    /// <returns>The metrics.</returns>
    public static HrvMetrics Compute(ReadOnlySpan<double> rrMs, ReadOnlySpan<bool> isNormalBeat)
    {
        if (!isNormalBeat.IsEmpty && rrMs.Length > 0 && isNormalBeat.Length != rrMs.Length + 1)
        {
            throw new ArgumentException($"{rrMs.Length} RR intervals need {rrMs.Length + 1} beat labels, got {isNormalBeat.Length}.", nameof(isNormalBeat));
        }

        // Welford's update keeps the variance accurate without a second pass or a buffer.
        int count = 0;
        double mean = 0;
        double m2 = 0;
        int differences = 0;
        double sumSquaredDifferences = 0;
        int nn50 = 0;
        bool previousAccepted = false;
        double previous = 0;
        for (int i = 0; i < rrMs.Length; i++)
        {
            double rr = rrMs[i];
            bool accepted = HeartRate.IsPhysiological(rr)
                && (isNormalBeat.IsEmpty || (isNormalBeat[i] && isNormalBeat[i + 1]));
            if (accepted)
            {
                count++;
                double delta = rr - mean;
                mean += delta / count;
                m2 += delta * (rr - mean);
                if (previousAccepted)
                {
                    double d = rr - previous;
                    differences++;
                    sumSquaredDifferences += d * d;
                    if (Math.Abs(d) > Nn50ThresholdMs)
                    {
                        nn50++;
                    }
                }

                previous = rr;
            }

            previousAccepted = accepted;
        }

        double meanRr = count > 0 ? mean : double.NaN;
        return new HrvMetrics(
            count,
            meanRr,
            count > 1 ? Math.Sqrt(m2 / (count - 1)) : double.NaN,
            differences > 0 ? Math.Sqrt(sumSquaredDifferences / differences) : double.NaN,
            differences > 0 ? 100.0 * nn50 / differences : double.NaN,
            count > 0 ? 60000.0 / meanRr : double.NaN)
        {
            RejectedCount = rrMs.Length - count,
            SuccessiveDifferenceCount = differences,
        };
    }

    /// <summary>HRV from beat positions, optionally restricted to intervals between normal beats.</summary>
    /// <param name="beatSamples">Beat positions as sample indices, in time order.</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="isNormalBeat">One flag per beat, true for a normal beat; empty to treat every beat as normal.</param>
    /// <returns>The metrics.</returns>
    public static HrvMetrics FromBeats(ReadOnlySpan<int> beatSamples, double sampleRateHz, ReadOnlySpan<bool> isNormalBeat = default)
    {
        HeartRate.CheckRate(sampleRateHz);
        if (!isNormalBeat.IsEmpty && isNormalBeat.Length != beatSamples.Length)
        {
            throw new ArgumentException($"{beatSamples.Length} beats need {beatSamples.Length} labels, got {isNormalBeat.Length}.", nameof(isNormalBeat));
        }

        if (beatSamples.Length < 2)
        {
            return Compute([], []);
        }

        double[] rr = HeartRate.RrIntervalsMs(beatSamples, sampleRateHz);
        return Compute(rr, isNormalBeat);
    }
}
