namespace HeartTwin.Signals.Rhythm;

/// <summary>
/// Signal-quality index (SQI) for a window of single-lead ECG, built from standard features: flat line (lead off),
/// clipping, physiological amplitude, high-frequency noise power, baseline-wander power, kurtosis (kSQI, Li and
/// Clifford 2008) and, when beats are supplied, the share of physiological RR intervals.
/// </summary>
/// <remarks>
/// <para>Each feature maps to a component score in [0, 1]:</para>
/// <list type="bullet">
/// <item>flat: 1 − flat fraction / 0.5; clip: 1 − clipped fraction / 0.1; amplitude: 1 inside
/// [<see cref="SignalQualityOptions.MinPeakToPeakMillivolts"/>, <see cref="SignalQualityOptions.MaxPeakToPeakMillivolts"/>], else 0.</item>
/// <item>noise: 1 at a high-frequency power ratio ≤ 0.05 falling linearly to 0 at 0.30; baseline: 1 at ≤ 0.3 falling to
/// 0 at 0.8; kurtosis: 0 at ≤ 3 (Gaussian noise) rising to 1 at ≥ 5 (clean ECG); regularity: the fraction itself.</item>
/// </list>
/// <para>The score is (flat × clip × amplitude) × the weighted mean of noise (0.4), kurtosis (0.3), baseline (0.15) and
/// regularity (0.15, left out when no beats are given): the first three are gates that alone make a window useless.</para>
/// <para>Category: Unusable when the window is too short or non-finite, its amplitude is out of range, half of it is
/// flat, a tenth of it clipped, or the score is below 0.4; Good when the score is at least 0.7 and nothing is
/// flagged; Acceptable otherwise.</para>
/// <para>The computation allocates nothing: two passes over the window with a few IIR filter states on the stack.</para>
/// </remarks>
public static class SignalQuality
{
    private const double GoodScore = 0.7;
    private const double AcceptableScore = 0.4;

    /// <summary>Assesses one window of ECG.</summary>
    /// <param name="windowMillivolts">The window's samples in mV (typically 5–10 s).</param>
    /// <param name="sampleRateHz">Sample rate in Hz.</param>
    /// <param name="beatSamples">Optional detected beats as sample indices in time order (any origin); adds the beat-regularity component.</param>
    /// <param name="options">Thresholds; <see cref="SignalQualityOptions.Default"/> when null.</param>
    /// <returns>Score, category, flags and features.</returns>
    public static SignalQualityResult Assess(
        ReadOnlySpan<float> windowMillivolts,
        double sampleRateHz,
        ReadOnlySpan<int> beatSamples = default,
        SignalQualityOptions? options = null)
    {
        HeartRate.CheckRate(sampleRateHz);
        SignalQualityOptions o = options ?? SignalQualityOptions.Default;
        int n = windowMillivolts.Length;
        double regularity = BeatRegularity(beatSamples, sampleRateHz);

        if (n < Math.Max(16, Math.Ceiling(o.MinWindowSeconds * sampleRateHz)))
        {
            return Failed(SignalQualityIssues.TooShort, regularity);
        }

        // Pass 1: extremes and mean.
        float max = float.NegativeInfinity;
        float min = float.PositiveInfinity;
        double sum = 0;
        foreach (float x in windowMillivolts)
        {
            if (!float.IsFinite(x))
            {
                return Failed(SignalQualityIssues.NonFinite, regularity);
            }

            max = Math.Max(max, x);
            min = Math.Min(min, x);
            sum += x;
        }

        double mean = sum / n;
        double peakToPeak = (double)max - min;

        // Pass 2: moments, band powers, flat stretches and plateaus at the extremes.
        double highCut = Math.Min(o.HighFrequencyCutoffHz, 0.45 * sampleRateHz);
        double lowCut = Math.Min(o.BaselineCutoffHz, 0.45 * sampleRateHz);
        var high = FourthOrder.Butterworth(highCut, sampleRateHz, highPass: true);
        var low = FourthOrder.Butterworth(lowCut, sampleRateHz, highPass: false);
        double first = windowMillivolts[0] - mean;
        high.Settle(first);
        low.Settle(first);

        int minFlatRun = Math.Max(2, (int)Math.Round(o.MinFlatRunSeconds * sampleRateHz));
        int minPlateau = Math.Max(3, (int)Math.Round(0.010 * sampleRateHz));

        // A flat baseline at the window's minimum (common when beats are all positive) must not count as clipping,
        // so an extreme counts only when it lies well away from the mean, where saturation plateaus sit.
        bool hasRange = peakToPeak > o.FlatToleranceMillivolts;
        bool checkTop = hasRange && max - mean > 0.2 * peakToPeak;
        bool checkBottom = hasRange && mean - min > 0.2 * peakToPeak;
        double plateauTolerance = 1e-3 * peakToPeak;

        double m2 = 0;
        double m4 = 0;
        double highPower = 0;
        double lowPower = 0;
        int flatSamples = 0;
        int runStart = 0;
        float runMin = windowMillivolts[0];
        float runMax = windowMillivolts[0];
        int clipped = 0;
        int topRun = 0;
        int bottomRun = 0;
        for (int i = 0; i < n; i++)
        {
            float x = windowMillivolts[i];
            double d = x - mean;
            double d2 = d * d;
            m2 += d2;
            m4 += d2 * d2;
            double h = high.Process(d);
            double l = low.Process(d);
            highPower += h * h;
            lowPower += l * l;

            // Greedy flat stretches: extend while the stretch's range stays within tolerance.
            float lo = Math.Min(runMin, x);
            float hi = Math.Max(runMax, x);
            if (hi - lo <= o.FlatToleranceMillivolts)
            {
                runMin = lo;
                runMax = hi;
            }
            else
            {
                flatSamples += i - runStart >= minFlatRun ? i - runStart : 0;
                runStart = i;
                runMin = runMax = x;
            }

            topRun = checkTop && x >= max - plateauTolerance ? topRun + 1 : Flush(topRun, minPlateau, ref clipped);
            bottomRun = checkBottom && x <= min + plateauTolerance ? bottomRun + 1 : Flush(bottomRun, minPlateau, ref clipped);
        }

        flatSamples += n - runStart >= minFlatRun ? n - runStart : 0;
        Flush(topRun, minPlateau, ref clipped);
        Flush(bottomRun, minPlateau, ref clipped);

        double flatFraction = (double)flatSamples / n;
        double clippedFraction = (double)clipped / n;
        double highRatio = m2 > 0 ? Math.Min(1, highPower / m2) : double.NaN;
        double lowRatio = m2 > 0 ? Math.Min(1, lowPower / m2) : double.NaN;
        double kurtosis = m2 > 0 ? m4 / n / ((m2 / n) * (m2 / n)) : double.NaN;

        var issues = SignalQualityIssues.None;
        if (flatFraction > o.FlatLineFractionLimit) { issues |= SignalQualityIssues.FlatLine; }
        if (clippedFraction > o.ClippedFractionLimit) { issues |= SignalQualityIssues.Clipping; }
        if (peakToPeak < o.MinPeakToPeakMillivolts) { issues |= SignalQualityIssues.AmplitudeTooLow; }
        if (peakToPeak > o.MaxPeakToPeakMillivolts) { issues |= SignalQualityIssues.AmplitudeTooHigh; }
        if (!(highRatio <= o.HighFrequencyRatioLimit)) { issues |= SignalQualityIssues.HighFrequencyNoise; }
        if (!(lowRatio <= o.BaselineRatioLimit)) { issues |= SignalQualityIssues.BaselineWander; }
        if (!(kurtosis >= o.KurtosisLimit)) { issues |= SignalQualityIssues.LowKurtosis; }
        if (regularity < o.BeatRegularityLimit) { issues |= SignalQualityIssues.IrregularBeats; }

        double flatScore = Clamp01(1 - (flatFraction / 0.5));
        double clipScore = Clamp01(1 - (clippedFraction / 0.1));
        double amplitudeScore = (issues & (SignalQualityIssues.AmplitudeTooLow | SignalQualityIssues.AmplitudeTooHigh)) == 0 ? 1 : 0;
        double noiseScore = double.IsNaN(highRatio) ? 0 : Clamp01(1 - ((highRatio - 0.05) / 0.25));
        double baselineScore = double.IsNaN(lowRatio) ? 0 : Clamp01(1 - ((lowRatio - 0.3) / 0.5));
        double kurtosisScore = double.IsNaN(kurtosis) ? 0 : Clamp01((kurtosis - 3) / 2);

        double weighted = (0.4 * noiseScore) + (0.3 * kurtosisScore) + (0.15 * baselineScore);
        double weights = 0.85;
        if (!double.IsNaN(regularity))
        {
            weighted += 0.15 * regularity;
            weights += 0.15;
        }

        double score = flatScore * clipScore * amplitudeScore * (weighted / weights);
        bool unusable = amplitudeScore == 0 || flatScore == 0 || clipScore == 0 || score < AcceptableScore;
        SignalQualityCategory category = unusable
            ? SignalQualityCategory.Unusable
            : score >= GoodScore && issues == SignalQualityIssues.None ? SignalQualityCategory.Good : SignalQualityCategory.Acceptable;

        return new SignalQualityResult(score, category, issues, flatFraction, clippedFraction, peakToPeak, highRatio, lowRatio, kurtosis, regularity);
    }

    private static int Flush(int run, int minRun, ref int total)
    {
        if (run >= minRun)
        {
            total += run;
        }

        return 0;
    }

    private static double BeatRegularity(ReadOnlySpan<int> beats, double sampleRateHz)
    {
        if (beats.Length < 2)
        {
            return double.NaN;
        }

        double msPerSample = 1000.0 / sampleRateHz;
        int physiological = 0;
        for (int i = 1; i < beats.Length; i++)
        {
            if (HeartRate.IsPhysiological(((long)beats[i] - beats[i - 1]) * msPerSample))
            {
                physiological++;
            }
        }

        return (double)physiological / (beats.Length - 1);
    }

    private static SignalQualityResult Failed(SignalQualityIssues issue, double regularity) =>
        new(0, SignalQualityCategory.Unusable, issue, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, regularity);

    private static double Clamp01(double v) => Math.Clamp(v, 0, 1);

    /// <summary>Second-order IIR section (direct form II transposed), RBJ cookbook design.</summary>
    private struct Biquad
    {
        private double _b0, _b1, _b2, _a1, _a2, _z1, _z2;

        public static Biquad Create(double cutoffHz, double sampleRateHz, double q, bool highPass)
        {
            double w0 = 2 * Math.PI * cutoffHz / sampleRateHz;
            double cos = Math.Cos(w0);
            double alpha = Math.Sin(w0) / (2 * q);
            double a0 = 1 + alpha;
            double b1 = (highPass ? -(1 + cos) : 1 - cos) / a0;
            return new Biquad
            {
                _b0 = Math.Abs(b1) / 2,
                _b1 = b1,
                _b2 = Math.Abs(b1) / 2,
                _a1 = -2 * cos / a0,
                _a2 = (1 - alpha) / a0,
            };
        }

        public readonly double DcGain => (_b0 + _b1 + _b2) / (1 + _a1 + _a2);

        /// <summary>Sets the state as if the input had been <paramref name="x"/> forever, so a step at the window start causes no transient.</summary>
        public void Settle(double x)
        {
            double y = DcGain * x;
            _z2 = (_b2 * x) - (_a2 * y);
            _z1 = y - (_b0 * x);
        }

        public double Process(double x)
        {
            double y = (_b0 * x) + _z1;
            _z1 = (_b1 * x) - (_a1 * y) + _z2;
            _z2 = (_b2 * x) - (_a2 * y);
            return y;
        }
    }

    /// <summary>Fourth-order Butterworth filter as two biquads (Q = 0.5412 and 1.3066).</summary>
    private struct FourthOrder
    {
        private Biquad _first;
        private Biquad _second;

        public static FourthOrder Butterworth(double cutoffHz, double sampleRateHz, bool highPass) => new()
        {
            _first = Biquad.Create(cutoffHz, sampleRateHz, 1 / (2 * Math.Cos(Math.PI / 8)), highPass),
            _second = Biquad.Create(cutoffHz, sampleRateHz, 1 / (2 * Math.Cos(3 * Math.PI / 8)), highPass),
        };

        public void Settle(double x)
        {
            _first.Settle(x);
            _second.Settle(_first.DcGain * x);
        }

        public double Process(double x) => _second.Process(_first.Process(x));
    }
}
