using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Wfdb;

public class WfdbRecordTests
{
    [Theory]
    [MemberData(nameof(TestData.RecordNames), MemberType = typeof(TestData))]
    public void Every_shared_record_decodes_and_its_checksums_match(string record)
    {
        var r = WfdbRecord.Read(TestData.MitDb, record, verifyChecksums: true);
        r.Length.ShouldBe(650000);
        r.SignalCount.ShouldBe(2);
        for (var s = 0; s < 2; s++)
        {
            // The header's initial value is the first sample, by WFDB's definition.
            r.Adc(s)[0].ShouldBe(r.Header.Signals[s].InitialValue);
        }
    }

    [Fact]
    public void Physical_values_are_adc_minus_baseline_over_gain()
    {
        var r = WfdbRecord.Read(TestData.MitDb, "101");
        var mv = r.Physical(0);
        mv[0].ShouldBe((955 - 1024) / 200f, 1e-6f);
        mv.Length.ShouldBe(650000);
    }

    [Fact]
    public void A_truncated_signal_file_is_reported()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".hea", ".dat");
        var dat = Path.Combine(dir.Path, "101.dat");
        var bytes = File.ReadAllBytes(dat);
        File.WriteAllBytes(dat, bytes[..(bytes.Length / 2)]);
        var e = Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "101"));
        e.Message.ShouldContain("declares 650000 samples");
        e.Message.ShouldContain("truncated");
    }

    [Fact]
    public void A_header_whose_sample_count_exceeds_the_file_is_reported()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".dat");
        File.WriteAllText(Path.Combine(dir.Path, "101.hea"), "101 2 360 700000\n101.dat 212 200 11 1024 955 29832 0 MLII\n101.dat 212 200 11 1024 992 19589 0 V1\n");
        Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "101")).Message.ShouldContain("holds only 650000");
    }

    [Fact]
    public void A_corrupted_sample_fails_the_checksum()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".hea", ".dat");
        var dat = Path.Combine(dir.Path, "101.dat");
        var bytes = File.ReadAllBytes(dat);
        bytes[3000] ^= 0x10;
        File.WriteAllBytes(dat, bytes);
        Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "101")).Message.ShouldContain("checksum");
        Should.NotThrow(() => WfdbRecord.Read(dir.Path, "101", verifyChecksums: false));
    }

    [Fact]
    public void An_unknown_format_is_reported()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".dat");
        File.WriteAllText(Path.Combine(dir.Path, "101.hea"), "101 1 360 1000\n101.dat 999 200 11 1024 0 0 0 MLII\n");
        Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "101")).Message.ShouldContain("format 999");
    }

    [Fact]
    public void Missing_files_are_reported()
    {
        using var dir = TestData.NewTempDir();
        Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "nope")).Message.ShouldContain("not found");
        File.WriteAllText(Path.Combine(dir.Path, "x.hea"), "x 1 360 10\nx.dat 16 200 16 0 0 0 0 I\n");
        Should.Throw<SignalFormatException>(() => WfdbRecord.Read(dir.Path, "x")).Message.ShouldContain("x.dat");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(61)]
    [InlineData(80)]
    [InlineData(160)]
    [InlineData(212)]
    [InlineData(8)]
    public void Each_format_decodes_known_samples(int format)
    {
        // Two interleaved signals; values cover both signs, with successive differences that fit format 8.
        int[] a = [0, 1, -1, 100, -20, 60, -60, 5, 3];
        int[] b = [10, -20, 30, -40, 50, -60, 60, -60, 50];
        var interleaved = a.Zip(b).SelectMany(p => new[] { p.First, p.Second }).ToArray();
        var bytes = Encode(format, interleaved);
        using var dir = TestData.NewTempDir();
        File.WriteAllBytes(Path.Combine(dir.Path, "t.dat"), bytes);
        var init = format == 8 ? "0" : a[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
        var initB = format == 8 ? "0" : b[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(dir.Path, "t.hea"), $"t 2 250 {a.Length}\nt.dat {format} 100 12 0 {init}\nt.dat {format} 100 12 0 {initB}\n");
        var r = WfdbRecord.Read(dir.Path, "t");
        r.Adc(0).ToArray().ShouldBe(a);
        r.Adc(1).ToArray().ShouldBe(b);
    }

    private static byte[] Encode(int format, int[] v)
    {
        switch (format)
        {
            case 16:
                return v.SelectMany(x => BitConverter.GetBytes((short)x)).ToArray();
            case 61:
                return v.SelectMany(x => BitConverter.GetBytes((short)x).Reverse()).ToArray();
            case 160:
                return v.SelectMany(x => BitConverter.GetBytes((ushort)(x + 32768))).ToArray();
            case 80:
                return v.Select(x => (byte)(x + 128)).ToArray();
            case 8:
                {
                    // First differences per signal slot (2 interleaved signals, both starting from 0).
                    var prev = new int[2];
                    var result = new byte[v.Length];
                    for (var i = 0; i < v.Length; i++)
                    {
                        result[i] = (byte)(sbyte)(v[i] - prev[i % 2]);
                        prev[i % 2] = v[i];
                    }

                    return result;
                }

            case 212:
                {
                    var result = new List<byte>();
                    for (var i = 0; i < v.Length; i += 2)
                    {
                        var s0 = v[i] & 0xFFF;
                        var s1 = i + 1 < v.Length ? v[i + 1] & 0xFFF : 0;
                        result.Add((byte)(s0 & 0xFF));
                        result.Add((byte)(((s0 >> 8) & 0x0F) | ((s1 >> 4) & 0xF0)));
                        result.Add((byte)(s1 & 0xFF));
                    }

                    return [.. result];
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }
}
