using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Wfdb;

public class AnnotationFileTests
{
    // Beats per record, from the MIT-BIH Arrhythmia Database Directory (Moody & Mark), table of beat counts.
    [Theory]
    [InlineData("101", 1865)]
    [InlineData("102", 2187)]
    [InlineData("104", 2229)]
    [InlineData("106", 2027)]
    [InlineData("107", 2137)]
    [InlineData("108", 1763)]
    [InlineData("109", 2532)]
    [InlineData("112", 2539)]
    [InlineData("114", 1879)]
    [InlineData("115", 1953)]
    [InlineData("116", 2412)]
    [InlineData("118", 2278)]
    [InlineData("119", 1987)]
    [InlineData("122", 2476)]
    [InlineData("124", 1619)]
    [InlineData("201", 1963)]
    [InlineData("203", 2980)]
    [InlineData("205", 2656)]
    [InlineData("207", 1860)]
    [InlineData("208", 2955)]
    [InlineData("209", 3005)]
    [InlineData("215", 3363)]
    [InlineData("217", 2208)]
    [InlineData("220", 2048)]
    [InlineData("223", 2605)]
    [InlineData("230", 2256)]
    public void Beat_counts_match_the_database_directory(string record, int beats)
    {
        var annotations = AnnotationFile.Read(TestData.MitDb, record, "atr");
        annotations.Count(a => a.IsBeat).ShouldBe(beats);
    }

    [Theory]
    [MemberData(nameof(TestData.RecordNames), MemberType = typeof(TestData))]
    public void Reference_files_round_trip_byte_for_byte(string record)
    {
        var path = Path.Combine(TestData.MitDb, record + ".atr");
        var original = File.ReadAllBytes(path);
        var annotations = AnnotationFile.Parse(original, record + ".atr");
        var encoded = AnnotationFile.Encode(annotations);
        AnnotationFile.Parse(encoded, "encoded").ShouldBe(annotations);
        encoded.ShouldBe(original);
    }

    [Fact]
    public void Rhythm_changes_are_kept_as_rhythm_not_beats()
    {
        var annotations = AnnotationFile.Read(TestData.MitDb, "201", "atr");
        var rhythms = annotations.Where(a => a.Code == AnnotationCode.Rhythm).ToList();
        rhythms.ShouldNotBeEmpty();
        rhythms.ShouldAllBe(a => !a.IsBeat);
        rhythms.Select(a => a.RhythmName).ShouldContain("AFIB");
        rhythms.Select(a => a.RhythmName).ShouldContain("N");
    }

    [Fact]
    public void Every_pseudo_code_round_trips()
    {
        Annotation[] annotations =
        [
            new(5, AnnotationCode.Normal),
            new(5000, AnnotationCode.Pvc, SubType: -3, Channel: 1, Number: 7), // SKIP, SUB, CHN, NUM
            new(5001, AnnotationCode.Rhythm, Channel: 1, Number: 7, Aux: "(AFIB"), // odd-length AUX is padded
            new(5002, AnnotationCode.Noise, SubType: 2, Channel: 0, Number: -128, Aux: "(VT"),
            new(3_000_000, AnnotationCode.Note, Aux: "a note"),
            new(3_000_001, AnnotationCode.VentricularFlutterOnset),
            new(3_000_002, AnnotationCode.VentricularFlutterOffset, Number: 127),
        ];
        var bytes = AnnotationFile.Encode(annotations);
        AnnotationFile.Parse(bytes, "t").ShouldBe(annotations);
    }

    [Fact]
    public void Written_files_read_back_identically()
    {
        using var dir = TestData.NewTempDir();
        var original = AnnotationFile.Read(TestData.MitDb, "207", "atr");
        var path = Path.Combine(dir.Path, "207.out");
        AnnotationFile.Write(path, original);
        AnnotationFile.Read(path).ShouldBe(original);
    }

    [Fact]
    public void Garbage_is_rejected_with_a_clear_error()
    {
        var text = "{\"this\": \"is not an annotation file\"}\n"u8.ToArray();
        Should.Throw<SignalFormatException>(() => AnnotationFile.Parse(text, "junk.atr")).Message.ShouldContain("junk.atr");
        Should.Throw<SignalFormatException>(() => AnnotationFile.Parse([0xFF, 0xFF, 0x01], "x.atr"));
        Should.Throw<SignalFormatException>(() => AnnotationFile.Parse([0x00, 0xF0, 0x00, 0x00], "y.atr")).Message.ShouldContain("NUM");
        Should.Throw<SignalFormatException>(() => AnnotationFile.Read("/nonexistent/z.atr")).Message.ShouldContain("not found");
    }

    [Fact]
    public void Writing_rejects_out_of_order_or_invalid_annotations()
    {
        Should.Throw<ArgumentException>(() => AnnotationFile.Encode([new(10, 1), new(5, 1)]));
        Should.Throw<ArgumentException>(() => AnnotationFile.Encode([new(10, 60)]));
    }
}
