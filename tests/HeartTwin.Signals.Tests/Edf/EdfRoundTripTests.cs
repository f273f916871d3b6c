using HeartTwin.Signals.Edf;

namespace HeartTwin.Signals.Tests.Edf;

public class EdfRoundTripTests
{
    private const int Records = 10;
    private static readonly DateTime Start = new(2024, 3, 15, 13, 45, 30);

    private static float[] Sine(int n, double fs) =>
        [.. Enumerable.Range(0, n).Select(i => (float)(0.2 + (1.5 * Math.Sin(2 * Math.PI * 1.3 * i / fs))))];

    private static float[] Ramp(int n) => [.. Enumerable.Range(0, n).Select(i => (float)(-500 + (1000.0 * i / (n - 1))))];

    private static readonly EdfAnnotation[] Notes =
    [
        new(0.5, null, "Recording start"),
        new(2.25, 1.5, "Atrial fibrillation"),
        new(7.125, null, "Ärger ♥ 心拍 – patient moved"),
    ];

    private static EdfWriteRequest Request() => new()
    {
        StartTime = Start,
        PatientId = "P-0001 M 01-JAN-1970 Test_Patient",
        Signals =
        [
            new EdfWriterSignal("ECG II", "mV", 360, Sine(360 * Records, 360), -3.2768, 3.2767) { TransducerType = "AgAgCl electrode", Prefiltering = "HP:0.5Hz LP:40Hz" },
            EdfWriterSignal.FromSamples("Resp", "uV", 90, Ramp(90 * Records)),
        ],
        Annotations = Notes,
    };

    [Fact]
    public void Written_EDF_plus_reads_back_with_the_same_header()
    {
        EdfFile file = EdfReader.Read(EdfWriter.ToBytes(Request()), "roundtrip.edf");

        EdfHeader h = file.Header;
        h.Version.ShouldBe("0");
        h.Variant.ShouldBe(EdfVariant.EdfPlusContinuous);
        h.Reserved.ShouldBe("EDF+C");
        h.PatientId.ShouldBe("P-0001 M 01-JAN-1970 Test_Patient");
        h.RecordingId.ShouldBe("Startdate 15-MAR-2024 X X X");
        h.StartTime.ShouldBe(Start);
        h.DataRecordCount.ShouldBe(Records);
        h.RecordDurationSeconds.ShouldBe(1.0);
        h.SignalCount.ShouldBe(3);
        h.HeaderBytes.ShouldBe(256 * 4);
        h.Signals[2].IsAnnotation.ShouldBeTrue();
        h.Signals[0].TransducerType.ShouldBe("AgAgCl electrode");
        h.Signals[0].Prefiltering.ShouldBe("HP:0.5Hz LP:40Hz");
        file.RecordOnsetsSeconds.ShouldBe([.. Enumerable.Range(0, Records).Select(r => (double)r)]);
        file.IsContiguous.ShouldBeTrue();
        file.DurationSeconds.ShouldBe(10.0);
    }

    [Fact]
    public void Written_signals_read_back_within_one_quantisation_step_at_their_own_rates()
    {
        EdfWriteRequest request = Request();
        EdfFile file = EdfReader.Read(EdfWriter.ToBytes(request), "roundtrip.edf");

        file.Signals.Count.ShouldBe(2);
        EdfSignal ecg = file.Signals[0];
        EdfSignal resp = file.Signals[1];
        ecg.Label.ShouldBe("ECG II");
        ecg.Units.ShouldBe("mV");
        ecg.SampleRateHz.ShouldBe(360.0);
        ecg.Length.ShouldBe(3600);
        resp.Label.ShouldBe("Resp");
        resp.Units.ShouldBe("uV");
        resp.SampleRateHz.ShouldBe(90.0);
        resp.Length.ShouldBe(900);

        ecg.Header.Gain.ShouldBe(6.5535 / 65535, 1e-12); // 0.1 µV per count
        AssertWithinOneStep(request.Signals[0].Samples, ecg);
        AssertWithinOneStep(request.Signals[1].Samples, resp);
        resp.Physical[0].ShouldBe(-500f, (float)resp.Header.Gain);
        resp.Physical[^1].ShouldBe(500f, (float)resp.Header.Gain);
    }

    private static void AssertWithinOneStep(float[] expected, EdfSignal actual)
    {
        double lsb = actual.Header.Gain;
        for (int i = 0; i < expected.Length; i++)
        {
            ((double)Math.Abs(actual.Physical[i] - expected[i])).ShouldBeLessThanOrEqualTo(lsb, $"sample {i}");
        }
    }

    [Fact]
    public void Written_annotations_read_back_with_onsets_durations_and_UTF8_text()
    {
        EdfFile file = EdfReader.Read(EdfWriter.ToBytes(Request()), "roundtrip.edf");

        file.Annotations.Count.ShouldBe(3);
        file.Annotations[0].ShouldBe(new EdfAnnotation(0.5, null, "Recording start"));
        file.Annotations[1].OnsetSeconds.ShouldBe(2.25);
        file.Annotations[1].DurationSeconds.ShouldBe(1.5);
        file.Annotations[1].Text.ShouldBe("Atrial fibrillation");
        file.Annotations[2].ShouldBe(new EdfAnnotation(7.125, null, "Ärger ♥ 心拍 – patient moved"));
    }

    [Fact]
    public void Writing_to_a_path_and_reading_it_back_works()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hearttwin-{Guid.NewGuid():N}.edf");
        try
        {
            EdfWriter.Write(path, Request());
            EdfReader.ReadHeader(path).DataRecordCount.ShouldBe(Records);
            EdfReader.Read(path).Annotations.Count.ShouldBe(3);
            new FileInfo(path).Length.ShouldBe(256 * 4 + (Records * EdfReader.ReadHeader(path).RecordBytes));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_non_seekable_stream_reads_like_a_file()
    {
        byte[] bytes = EdfWriter.ToBytes(Request());
        using var stream = new ForwardOnlyStream(bytes);
        EdfFile file = EdfReader.Read(stream, "pipe");
        file.Signals[0].Digital.ShouldBe(EdfReader.Read(bytes, "memory").Signals[0].Digital);

        using var truncated = new ForwardOnlyStream(bytes[..^1]);
        Should.Throw<SignalFormatException>(() => EdfReader.Read(truncated, "pipe")).Message.ShouldContain("'pipe'");
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public void Rewriting_a_read_file_reproduces_it_byte_for_byte()
    {
        byte[] original = EdfWriter.ToBytes(Request());
        EdfFile file = EdfReader.Read(original, "roundtrip.edf");
        using var copy = new MemoryStream();
        EdfWriter.Write(copy, file);
        copy.ToArray().ShouldBe(original);
    }

    [Fact]
    public void Rewriting_EDF_plus_D_keeps_record_onsets()
    {
        var edf = new HandMadeEdf { Reserved = "EDF+D", Records = "2" };
        edf.Signals.Add(new HandMadeSignal("ECG", SamplesPerRecord: "2"));
        edf.Signals.Add(new HandMadeSignal("EDF Annotations", "", "-1", "1", "-32768", "32767", "20"));
        edf.AddSamples(10, -10).AddTal(40, "+0\u0014\u0014\0+0.5\u0014Event\u0014\0");
        edf.AddSamples(20, -20).AddTal(40, "+30.5\u0014\u0014\0+31\u00152\u0014Later\u0014\0");
        EdfFile file = EdfReader.Read(edf.Build(), "d.edf");

        using var copy = new MemoryStream();
        EdfWriter.Write(copy, file);
        EdfFile again = EdfReader.Read(copy.ToArray(), "d-copy.edf");

        again.Header.Variant.ShouldBe(EdfVariant.EdfPlusDiscontinuous);
        again.RecordOnsetsSeconds.ShouldBe([0.0, 30.5]);
        again.Annotations.ShouldBe(file.Annotations);
        again.Signals[0].Digital.ShouldBe(new short[] { 10, -10, 20, -20 });
        again.Header.Signals[0].ShouldBe(file.Header.Signals[0]);
    }

    [Fact]
    public void Plain_EDF_has_no_annotation_channel()
    {
        EdfWriteRequest request = Request() with { EdfPlus = false, Annotations = [] };
        EdfFile file = EdfReader.Read(EdfWriter.ToBytes(request), "plain.edf");
        file.Header.Variant.ShouldBe(EdfVariant.Edf);
        file.Header.SignalCount.ShouldBe(2);
        file.Header.RecordingId.ShouldBe("");
        file.RecordOnsetsSeconds[3].ShouldBe(3.0);
    }

    [Fact]
    public void Fractional_record_durations_round_trip()
    {
        EdfWriteRequest request = new()
        {
            StartTime = Start,
            RecordDurationSeconds = 0.1,
            Signals = [EdfWriterSignal.FromSamples("ECG", "mV", 36, Sine(360, 360))],
            Annotations = [new EdfAnnotation(0.35, 0.1, "Beat")],
        };
        EdfFile file = EdfReader.Read(EdfWriter.ToBytes(request), "fraction.edf");
        file.Header.RecordDurationSeconds.ShouldBe(0.1);
        file.Signals[0].SampleRateHz.ShouldBe(360.0);
        file.RecordOnsetsSeconds[7].ShouldBe(0.7, 1e-12);
        file.Annotations.ShouldHaveSingleItem().OnsetSeconds.ShouldBe(0.35);
    }

    [Fact]
    public void Physical_limits_that_do_not_fit_eight_characters_are_rounded_outwards()
    {
        float[] samples = [-0.123456789f, 0.987654321f];
        EdfWriteRequest request = new()
        {
            StartTime = Start,
            Signals = [EdfWriterSignal.FromSamples("X", "mV", 2, samples)],
        };
        EdfSignal s = EdfReader.Read(EdfWriter.ToBytes(request), "x.edf").Signals[0];
        s.Header.PhysicalMinimum.ShouldBeLessThanOrEqualTo(samples[0]);
        s.Header.PhysicalMaximum.ShouldBeGreaterThanOrEqualTo(samples[1]);
        s.Physical[0].ShouldBe(samples[0], (float)s.Header.Gain);
        s.Physical[1].ShouldBe(samples[1], (float)s.Header.Gain);
    }

    [Fact]
    public void The_writer_rejects_inconsistent_requests()
    {
        EdfWriteRequest good = Request();
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { Signals = [good.Signals[0] with { Samples = new float[100] }] }))
            .Message.ShouldContain("not a whole number of records");
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { Signals = [good.Signals[0], good.Signals[1] with { Samples = new float[90] }] }))
            .Message.ShouldContain("all signals must cover the same time");
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { Annotations = [new EdfAnnotation(1, null, "bad\u0014text")] }))
            .Message.ShouldContain("0x14");
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { EdfPlus = false }))
            .Message.ShouldContain("Annotations need EDF+");
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { PatientId = "Zoë" }))
            .Message.ShouldContain("printable ASCII");
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { StartTime = new DateTime(1980, 1, 1) }))
            .Message.ShouldContain("1985");
        float[] withNaN = new float[360 * Records];
        withNaN[5] = float.NaN;
        Should.Throw<ArgumentException>(() => EdfWriter.ToBytes(good with { Signals = [good.Signals[0] with { Samples = withNaN }, good.Signals[1]] }))
            .Message.ShouldContain("sample 5");
    }
}
