using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Wfdb;

public class WfdbHeaderTests
{
    private const string Header101 = "101 2 360 650000\n101.dat 212 200 11 1024 955 29832 0 MLII\n101.dat 212 200 11 1024 992 19589 0 V1\n# 75 F 1011 654 x1\n# Diapres\n";

    [Fact]
    public void Parses_record_line_signals_and_comments()
    {
        var h = WfdbHeader.Parse(Header101, "101.hea");
        h.RecordName.ShouldBe("101");
        h.SamplingFrequencyHz.ShouldBe(360);
        h.NumberOfSamples.ShouldBe(650000);
        h.Signals.Count.ShouldBe(2);
        var s = h.Signals[0];
        s.FileName.ShouldBe("101.dat");
        s.Format.ShouldBe(212);
        s.AdcGain.ShouldBe(200);
        s.AdcResolution.ShouldBe(11);
        s.AdcZero.ShouldBe(1024);
        s.Baseline.ShouldBe(1024);
        s.InitialValue.ShouldBe(955);
        s.Checksum.ShouldBe(29832);
        s.Description.ShouldBe("MLII");
        s.Units.ShouldBe("mV");
        h.Signals[1].Description.ShouldBe("V1");
        h.Comments.ShouldBe(["75 F 1011 654 x1", "Diapres"]);
    }

    [Fact]
    public void CRLF_and_LF_headers_parse_the_same()
    {
        var lf = WfdbHeader.Parse(Header101, "a");
        var crlf = WfdbHeader.Parse(Header101.Replace("\n", "\r\n", StringComparison.Ordinal), "b");
        crlf.Signals.ShouldBe(lf.Signals);
        crlf.Comments.ShouldBe(lf.Comments);
    }

    [Fact]
    public void Gain_with_baseline_and_units_and_format_modifiers_parse()
    {
        var h = WfdbHeader.Parse("r 1 128/1000 1000 10:20:30 01/02/2003\nr.dat 16x2:3+512 1000(-12)/uV 16 0 5 0 0 ECG lead II\n", "r.hea");
        h.SamplingFrequencyHz.ShouldBe(128);
        h.BaseTime.ShouldBe(new TimeOnly(10, 20, 30));
        h.BaseDate.ShouldBe(new DateOnly(2003, 2, 1));
        var s = h.Signals[0];
        s.Format.ShouldBe(16);
        s.SamplesPerFrame.ShouldBe(2);
        s.Skew.ShouldBe(3);
        s.ByteOffset.ShouldBe(512);
        s.AdcGain.ShouldBe(1000);
        s.Baseline.ShouldBe(-12);
        s.Units.ShouldBe("uV");
        s.Description.ShouldBe("ECG lead II");
    }

    [Theory]
    [InlineData("r 2 360 100\nr.dat 212 200 11 1024 0 0 0 MLII\n", "declares 2 signals")]
    [InlineData("r x 360\n", "number of signals")]
    [InlineData("r 1 abc 100\nr.dat 212\n", "sampling frequency")]
    [InlineData("r 1 360 100\nr.dat 21z2 200\n", "format")]
    [InlineData("r 1 360 100\nr.dat 212 2o0\n", "ADC gain")]
    [InlineData("", "no record line")]
    public void Malformed_headers_get_a_clear_error(string text, string expected)
    {
        var e = Should.Throw<SignalFormatException>(() => WfdbHeader.Parse(text, "r.hea"));
        e.Message.ShouldContain(expected);
        e.Message.ShouldContain("r.hea");
    }
}
