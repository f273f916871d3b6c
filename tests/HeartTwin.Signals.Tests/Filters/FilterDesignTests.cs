using HeartTwin.Signals.Filters;

namespace HeartTwin.Signals.Tests.Filters;

public class FilterDesignTests
{
    private static readonly double HalfPowerDb = 10.0 * Math.Log10(0.5); // -3.0103 dB

    /// <summary>Expands a cascade into its transfer-function polynomials (b, a) in powers of z⁻¹.</summary>
    private static (double[] B, double[] A) ToTransferFunction(SosFilter filter)
    {
        double[] b = [1.0], a = [1.0];
        foreach (var s in filter.Sections)
        {
            b = Multiply(b, [s.B0, s.B1, s.B2]);
            a = Multiply(a, [1.0, s.A1, s.A2]);
        }

        return (b, a);
    }

    private static double[] Multiply(double[] p, double[] q)
    {
        var r = new double[p.Length + q.Length - 1];
        for (int i = 0; i < p.Length; i++)
        {
            for (int j = 0; j < q.Length; j++)
            {
                r[i + j] += p[i] * q[j];
            }
        }

        return r;
    }

    private static void ShouldMatch(double[] actual, double[] expected, double tolerance)
    {
        // First-order sections leave trailing zero coefficients; compare the common length and require the rest be zero.
        actual.Length.ShouldBeGreaterThanOrEqualTo(expected.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double e = i < expected.Length ? expected[i] : 0.0;
            actual[i].ShouldBe(e, tolerance, $"coefficient {i}");
        }
    }

    // Reference values printed by scipy.signal 1.10.1 (Wn is a fraction of Nyquist; fs = 2 makes Hz equal Wn).

    [Fact]
    public void Second_order_low_pass_matches_scipy_butter_2_0_1()
    {
        var f = FilterDesign.ButterworthLowPass(2, cutoffHz: 50, sampleRateHz: 1000);

        f.SectionCount.ShouldBe(1);
        var s = f.Sections[0];
        s.B0.ShouldBe(0.02008336556421124, 1e-14);
        s.B1.ShouldBe(0.04016673112842247, 1e-14);
        s.B2.ShouldBe(0.02008336556421124, 1e-14);
        s.A1.ShouldBe(-1.5610180758007182, 1e-14);
        s.A2.ShouldBe(0.6413515380575631, 1e-14);
    }

    [Fact]
    public void Second_order_high_pass_matches_scipy_butter_2_0_1_highpass()
    {
        var s = FilterDesign.ButterworthHighPass(2, 0.1, 2.0).Sections[0];

        s.B0.ShouldBe(0.8005924034645704, 1e-14);
        s.B1.ShouldBe(-1.6011848069291408, 1e-14);
        s.B2.ShouldBe(0.8005924034645704, 1e-14);
        s.A1.ShouldBe(-1.5610180758007182, 1e-14);
        s.A2.ShouldBe(0.6413515380575631, 1e-14);
    }

    [Fact]
    public void Fourth_order_low_pass_has_scipy_sections_and_transfer_function()
    {
        var f = FilterDesign.ButterworthLowPass(4, 0.2, 2.0);

        f.SectionCount.ShouldBe(2);
        // scipy butter(4, 0.2, output='sos') orders the same pole pairs the same way (least resonant first).
        f.Sections[0].A1.ShouldBe(-1.0485995763626117, 1e-13);
        f.Sections[0].A2.ShouldBe(0.2961403575616696, 1e-13);
        f.Sections[1].A1.ShouldBe(-1.320913430819426, 1e-13);
        f.Sections[1].A2.ShouldBe(0.6327387928852762, 1e-13);
        var (b, a) = ToTransferFunction(f);
        ShouldMatch(b, [0.00482434335771623, 0.01929737343086492, 0.02894606014629739, 0.01929737343086492, 0.00482434335771623], 1e-14);
        ShouldMatch(a, [1.0, -2.3695130071820376, 2.31398841441588, -1.0546654058785676, 0.18737949236818488], 1e-13);
    }

    [Fact]
    public void Odd_order_low_pass_has_a_first_order_section_with_scipy_poles()
    {
        var f = FilterDesign.ButterworthLowPass(3, 0.3, 2.0);

        f.SectionCount.ShouldBe(2);
        f.Order.ShouldBe(3);
        var first = f.Sections[0];
        (first.B2, first.A2).ShouldBe((0.0, 0.0));
        first.A1.ShouldBe(-0.32491969623290634, 1e-13);
        f.Sections[1].A1.ShouldBe(-0.8369977874388261, 1e-13);
        f.Sections[1].A2.ShouldBe(0.4239856889474126, 1e-13);
        // scipy spreads the zeros differently over sections, but the overall gain is the same.
        (first.B0 * f.Sections[1].B0).ShouldBe(0.04953299635725318, 1e-14);
    }

    [Fact]
    public void Odd_order_high_pass_matches_scipy_transfer_function()
    {
        var (b, a) = ToTransferFunction(FilterDesign.ButterworthHighPass(3, 0.3, 2.0));

        ShouldMatch(b, [0.3744526925901595, -1.1233580777704786, 1.1233580777704786, -0.3744526925901595], 1e-13);
        ShouldMatch(a, [1.0, -1.1619174836717323, 0.6959427557896507, -0.13776130125989278], 1e-13);
    }

    [Fact]
    public void Band_pass_matches_scipy_butter_2_0_1_0_3_bandpass()
    {
        var (b, a) = ToTransferFunction(FilterDesign.ButterworthBandPass(2, 0.1, 0.3, 2.0));

        ShouldMatch(b, [0.06745527388907191, 0, -0.13491054777814382, 0, 0.06745527388907191], 1e-13);
        ShouldMatch(a, [1.0, -2.673578905120267, 2.9923618041278957, -1.6745773146352605, 0.41280159809618844], 1e-13);
    }

    [Fact]
    public void Wide_odd_order_band_pass_with_real_poles_matches_scipy()
    {
        var (b, a) = ToTransferFunction(FilterDesign.ButterworthBandPass(3, 0.05, 0.6, 2.0));

        ShouldMatch(b, [0.2087647185819294, 0, -0.6262941557457882, 0, 0.6262941557457882, 0, -0.2087647185819294], 1e-13);
        ShouldMatch(a, [1.0, -2.1817644947202575, 1.5106251713168395, -0.6499143374489843, 0.576987391219087, -0.2214959363341374, -0.02666632069720975], 1e-13);
    }

    [Fact]
    public void Notch_matches_scipy_iirnotch()
    {
        var s50 = FilterDesign.Notch(50, 30, 500).Sections[0];
        s50.ShouldBe(new Biquad(0.9896361753628921, -1.6012649682336109, 0.9896361753628921, -1.6012649682336109, 0.9792723507257841), new BiquadComparer(1e-14));
        var s60 = FilterDesign.Notch(60, 30, 360).Sections[0];
        s60.ShouldBe(new Biquad(0.982844387403537, -0.9828443874035372, 0.982844387403537, -0.9828443874035372, 0.9656887748070739), new BiquadComparer(1e-14));
    }

    public static TheoryData<double, int> RatesAndOrders()
    {
        var data = new TheoryData<double, int>();
        foreach (double fs in new[] { 128.0, 250.0, 360.0, 500.0, 1000.0 })
        {
            foreach (int order in new[] { 1, 2, 3, 4, 5, 8, 16 })
            {
                data.Add(fs, order);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RatesAndOrders))]
    public void Butterworth_low_pass_is_3_01_dB_down_at_cutoff_and_follows_the_bilinear_formula_at_twice_cutoff(double fs, int order)
    {
        double fc = fs / 10.0;
        var f = FilterDesign.ButterworthLowPass(order, fc, fs);

        f.SectionCount.ShouldBe((order + 1) / 2);
        f.IsStable.ShouldBeTrue();
        f.MagnitudeDb(0, fs).ShouldBe(0.0, 1e-9);
        f.MagnitudeDb(fc, fs).ShouldBe(HalfPowerDb, 1e-9);
        f.MagnitudeDb(2 * fc, fs).ShouldBe(ExpectedLowPassDb(2 * fc, fc, fs, order), 1e-9);
    }

    [Theory]
    [MemberData(nameof(RatesAndOrders))]
    public void Butterworth_high_pass_is_3_01_dB_down_at_cutoff_and_follows_the_bilinear_formula_at_half_cutoff(double fs, int order)
    {
        double fc = fs / 20.0;
        var f = FilterDesign.ButterworthHighPass(order, fc, fs);

        f.IsStable.ShouldBeTrue();
        f.MagnitudeDb(fs / 2, fs).ShouldBe(0.0, 1e-9);
        f.DcGain.ShouldBe(0.0, 1e-12);
        f.MagnitudeDb(fc, fs).ShouldBe(HalfPowerDb, 1e-9);
        // High-pass mirror of the low-pass formula: |H|² = 1/(1 + (tan(πfc/fs)/tan(πf/fs))^(2n)).
        double ratio = Math.Tan(Math.PI * fc / fs) / Math.Tan(Math.PI * fc / 2 / fs);
        f.MagnitudeDb(fc / 2, fs).ShouldBe(-10.0 * Math.Log10(1.0 + Math.Pow(ratio, 2 * order)), 1e-9);
    }

    [Theory]
    [InlineData(360.0, 1, 5.0, 15.0)]
    [InlineData(360.0, 2, 5.0, 15.0)]
    [InlineData(250.0, 4, 0.5, 40.0)]
    [InlineData(1000.0, 3, 1.0, 400.0)]
    [InlineData(128.0, 5, 8.0, 24.0)]
    public void Butterworth_band_pass_is_3_01_dB_down_at_both_edges_and_unity_at_its_centre(double fs, int order, double lo, double hi)
    {
        var f = FilterDesign.ButterworthBandPass(order, lo, hi, fs);

        f.SectionCount.ShouldBe(order);
        f.IsStable.ShouldBeTrue();
        f.MagnitudeDb(lo, fs).ShouldBe(HalfPowerDb, 1e-8);
        f.MagnitudeDb(hi, fs).ShouldBe(HalfPowerDb, 1e-8);
        double w0 = Math.Sqrt(Math.Tan(Math.PI * lo / fs) * Math.Tan(Math.PI * hi / fs));
        f.MagnitudeDb(fs / Math.PI * Math.Atan(w0), fs).ShouldBe(0.0, 1e-8);
        f.DcGain.ShouldBe(0.0, 1e-12);
    }

    [Theory]
    [InlineData(128.0)]
    [InlineData(250.0)]
    [InlineData(360.0)]
    [InlineData(500.0)]
    [InlineData(1000.0)]
    public void Filtering_real_sines_through_a_low_pass_gives_the_analytic_gain(double fs)
    {
        const int order = 4;
        double fc = 40.0;
        var design = FilterDesign.ButterworthLowPass(order, fc, fs);

        foreach (double f in new[] { 5.0, 20.0, 40.0, 55.0 })
        {
            var filter = design.Clone();
            var x = Tone.Sine(f, fs, (int)(4 * fs));
            var y = new float[x.Length];
            filter.Process(x, y);

            double measured = Tone.GainDb(y, f, fs);
            measured.ShouldBe(ExpectedLowPassDb(f, fc, fs, order), 0.01, $"{f} Hz at {fs} Hz");
        }
    }

    [Fact]
    public void Notch_bandwidth_is_the_distance_between_its_3_dB_points()
    {
        const double fs = 500, f0 = 50, bw = 4;
        var f = FilterDesign.NotchWithBandwidth(f0, bw, fs);

        double lower = FindCrossing(f, fs, 30, f0, HalfPowerDb);
        double upper = FindCrossing(f, fs, 70, f0, HalfPowerDb);
        (upper - lower).ShouldBe(bw, 0.02);
        f.MagnitudeDb(0, fs).ShouldBe(0, 1e-9);
        f.MagnitudeDb(fs / 2, fs).ShouldBe(0, 1e-9);
    }

    [Fact]
    public void Designs_reject_bad_arguments_with_ArgumentOutOfRangeException()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(0, 10, 360)).ParamName.ShouldBe("order");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(17, 10, 360)).ParamName.ShouldBe("order");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, 0, 360)).ParamName.ShouldBe("cutoffHz");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, -1, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, 180, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthHighPass(2, 200, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthHighPass(2, double.NaN, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, 10, 0)).ParamName.ShouldBe("sampleRateHz");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, 10, double.NaN));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(2, 10, double.PositiveInfinity));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthBandPass(2, 20, 10, 360)).ParamName.ShouldBe("lowCutoffHz");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthBandPass(2, 10, 10, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthBandPass(2, 10, 180, 360)).ParamName.ShouldBe("highCutoffHz");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.Notch(50, 0, 360)).ParamName.ShouldBe("qualityFactor");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.Notch(50, double.NaN, 360));
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.Notch(50, 30, 100)).ParamName.ShouldBe("centerHz");
        Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.NotchWithBandwidth(50, 0, 360)).ParamName.ShouldBe("bandwidthHz");
    }

    [Fact]
    public void Cutoff_error_message_names_the_Nyquist_frequency()
    {
        var ex = Should.Throw<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(4, 200, 360));

        ex.Message.ShouldContain("180 Hz");
    }

    /// <summary>20·log10(1/sqrt(1 + (tan(πf/fs)/tan(πfc/fs))^(2n))): the bilinear Butterworth magnitude.</summary>
    internal static double ExpectedLowPassDb(double f, double fc, double fs, int order)
    {
        double ratio = Math.Tan(Math.PI * f / fs) / Math.Tan(Math.PI * fc / fs);
        return 20.0 * Math.Log10(1.0 / Math.Sqrt(1.0 + Math.Pow(ratio, 2 * order)));
    }

    private static double FindCrossing(SosFilter f, double fs, double from, double to, double levelDb)
    {
        // Bisection between a frequency above the level and one below it.
        double a = from, b = to;
        for (int i = 0; i < 100; i++)
        {
            double m = (a + b) / 2;
            if (f.MagnitudeDb(m, fs) > levelDb)
            {
                a = m;
            }
            else
            {
                b = m;
            }
        }

        return (a + b) / 2;
    }

    private sealed class BiquadComparer(double tolerance) : IEqualityComparer<Biquad>
    {
        public bool Equals(Biquad x, Biquad y) =>
            Math.Abs(x.B0 - y.B0) <= tolerance && Math.Abs(x.B1 - y.B1) <= tolerance && Math.Abs(x.B2 - y.B2) <= tolerance
            && Math.Abs(x.A1 - y.A1) <= tolerance && Math.Abs(x.A2 - y.A2) <= tolerance;

        public int GetHashCode(Biquad obj) => 0;
    }
}
