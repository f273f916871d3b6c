using HeartTwin.Signals.Edf;

namespace HeartTwin.Signals.Tests.Edf;

public class EdfHandMadeTests
{
    private static HandMadeEdf Minimal()
    {
        // One 12-bit signal, 4 samples per 1-s record, 2 records; scaling [-2048, 2047] -> [-5, 5] mV.
        var edf = new HandMadeEdf { Records = "2" };
        edf.Signals.Add(new HandMadeSignal("ECG I"));
        edf.AddBytes(0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0x07);   // 0, 1, -1, 2047
        edf.AddBytes(0x00, 0xF8, 0xE8, 0x03, 0x18, 0xFC, 0x39, 0x30);   // -2048, 1000, -1000, 12345
        return edf;
    }

    [Fact]
    public void Minimal_hand_made_file_decodes_header_fields()
    {
        EdfFile file = EdfReader.Read(Minimal().Build(), "minimal.edf");

        EdfHeader h = file.Header;
        h.Version.ShouldBe("0");
        h.PatientId.ShouldBe("MCH-0234567 F 02-MAY-1951 Haagse_Harry");
        h.RecordingId.ShouldStartWith("Startdate 02-MAR-2002");
        h.StartTime.ShouldBe(new DateTime(2002, 3, 2, 14, 27, 0));
        h.HeaderBytes.ShouldBe(512);
        h.Variant.ShouldBe(EdfVariant.Edf);
        h.DeclaredDataRecordCount.ShouldBe(2);
        h.DataRecordCount.ShouldBe(2);
        h.RecordDurationSeconds.ShouldBe(1.0);
        h.SignalCount.ShouldBe(1);
        EdfSignalHeader s = h.Signals[0];
        s.Label.ShouldBe("ECG I");
        s.TransducerType.ShouldBe("AgAgCl electrode");
        s.PhysicalDimension.ShouldBe("mV");
        s.PhysicalMinimum.ShouldBe(-5.0);
        s.PhysicalMaximum.ShouldBe(5.0);
        s.DigitalMinimum.ShouldBe(-2048);
        s.DigitalMaximum.ShouldBe(2047);
        s.Prefiltering.ShouldBe("HP:0.1Hz LP:75Hz");
        s.SamplesPerRecord.ShouldBe(4);
        file.Annotations.ShouldBeEmpty();
        file.RecordOnsetsSeconds.ShouldBe([0.0, 1.0]);
    }

    [Fact]
    public void Minimal_hand_made_file_decodes_little_endian_twos_complement_and_scales_with_the_EDF_formula()
    {
        EdfFile file = EdfReader.Read(Minimal().Build(), "minimal.edf");

        EdfSignal ecg = file.Signals.ShouldHaveSingleItem();
        ecg.SampleRateHz.ShouldBe(4.0);
        ecg.Digital.ShouldBe(new short[] { 0, 1, -1, 2047, -2048, 1000, -1000, 12345 });

        // physical = (digital - digmin) * (physmax - physmin) / (digmax - digmin) + physmin
        static double Expected(int d) => ((d - -2048.0) * (5.0 - -5.0) / (2047.0 - -2048.0)) + -5.0;
        for (int i = 0; i < ecg.Length; i++)
        {
            ((double)ecg.Physical[i]).ShouldBe(Expected(ecg.Digital[i]), 1e-6);
        }

        ecg.Physical[4].ShouldBe(-5.0f);                              // digital minimum -> physical minimum
        ecg.Physical[3].ShouldBe(5.0f, 1e-6);                         // digital maximum -> physical maximum
        ecg.Physical[0].ShouldBe((float)(2048 * 10.0 / 4095 - 5), 1e-7); // 0 counts = +1.2210012 mV
        ecg.Physical[2].ShouldBeLessThan(ecg.Physical[0]);
        ecg.Header.Gain.ShouldBe(10.0 / 4095, 1e-15);
    }

    [Fact]
    public void Physical_values_are_computed_lazily_and_can_be_copied_without_allocating()
    {
        EdfSignal ecg = EdfReader.Read(Minimal().Build(), "minimal.edf").Signals[0];
        Span<float> part = stackalloc float[3];
        ecg.CopyPhysical(4, part);
        part[0].ShouldBe(-5.0f);
        part[1].ShouldBe(ecg.Physical[5]);
        ReferenceEquals(ecg.Physical, ecg.Physical).ShouldBeTrue();
        Should.Throw<ArgumentOutOfRangeException>(() => ecg.CopyPhysical(6, new float[3]));
    }

    [Fact]
    public void Sample_times_follow_record_onsets()
    {
        EdfFile file = EdfReader.Read(Minimal().Build(), "minimal.edf");
        file.SampleTimeSeconds(file.Signals[0], 5).ShouldBe(1.25);
        file.IsContiguous.ShouldBeTrue();
        file.FindSignal("ecg i").ShouldBeSameAs(file.Signals[0]);
        file.FindSignal("EEG").ShouldBeNull();
    }

    [Theory]
    [InlineData("01.01.85", 1985)]
    [InlineData("01.01.99", 1999)]
    [InlineData("01.01.00", 2000)]
    [InlineData("01.01.84", 2084)]
    public void Two_digit_years_follow_the_1985_clipping_rule(string date, int year)
    {
        HandMadeEdf edf = Minimal();
        edf.Date = date;
        EdfReader.Read(edf.Build(), "clip.edf").Header.StartTime.Year.ShouldBe(year);
    }

    [Fact]
    public void EDF_plus_yy_year_is_taken_from_the_recording_field()
    {
        HandMadeEdf edf = Minimal();
        edf.Reserved = "EDF+C";
        edf.Date = "02.03.yy";
        edf.Recording = "Startdate 02-MAR-2091 X X X";
        edf.Records = "1";
        edf.Signals.Add(new HandMadeSignal("EDF Annotations", "", "-1", "1", "-32768", "32767", "8"));
        edf.Data.Clear();
        edf.AddSamples(1, 2, 3, 4).AddTal(16, "+0\u0014\u0014\0");
        EdfReader.Read(edf.Build(), "future.edf").Header.StartTime.ShouldBe(new DateTime(2091, 3, 2, 14, 27, 0));
    }

    [Fact]
    public void Unknown_record_count_is_derived_from_the_file_size()
    {
        HandMadeEdf edf = Minimal();
        edf.Records = "-1";
        EdfFile file = EdfReader.Read(edf.Build(), "unknown.edf");
        file.Header.DeclaredDataRecordCount.ShouldBe(-1);
        file.Header.DataRecordCount.ShouldBe(2);
        file.Signals[0].Length.ShouldBe(8);
    }

    [Fact]
    public void Fractional_record_duration_gives_an_exact_sample_rate()
    {
        HandMadeEdf edf = Minimal();
        edf.Duration = "0.1";
        edf.Signals[0] = edf.Signals[0] with { SamplesPerRecord = "36" };
        edf.Records = "1";
        edf.Data.Clear();
        edf.AddSamples(new short[36]);
        EdfFile file = EdfReader.Read(edf.Build(), "fraction.edf");
        file.Header.RecordDurationSeconds.ShouldBe(0.1);
        file.Signals[0].SampleRateHz.ShouldBe(360.0);
    }

    [Fact]
    public void Hand_made_EDF_plus_D_annotations_give_record_onsets_and_annotations()
    {
        // Two records, 1 s each, with a 9-s gap between them; the first TAL of each record keeps time.
        var edf = new HandMadeEdf { Reserved = "EDF+D", Records = "2" };
        edf.Signals.Add(new HandMadeSignal("ECG", SamplesPerRecord: "2"));
        edf.Signals.Add(new HandMadeSignal("EDF Annotations", "", "-1", "1", "-32768", "32767", "30"));
        edf.AddSamples(10, -10).AddTal(60, "+0\u0014\u0014\0+0.5\u00152.5\u0014Apnoea\u0014Snore\u0014\0");
        edf.AddSamples(20, -20).AddTal(60, "+10\u0014\u0014Lights off\u0014\0-0.25\u0014Calibration\u0014\0");

        EdfFile file = EdfReader.Read(edf.Build(), "discontinuous.edf");

        file.Header.Variant.ShouldBe(EdfVariant.EdfPlusDiscontinuous);
        file.Signals.Count.ShouldBe(1);
        file.RecordOnsetsSeconds.ShouldBe([0.0, 10.0]);
        file.IsContiguous.ShouldBeFalse();
        file.SampleTimeSeconds(file.Signals[0], 3).ShouldBe(10.5);
        file.Annotations.ShouldBe(
        [
            new EdfAnnotation(-0.25, null, "Calibration"),
            new EdfAnnotation(0.5, 2.5, "Apnoea"),
            new EdfAnnotation(0.5, 2.5, "Snore"),
            new EdfAnnotation(10, null, "Lights off"),
        ]);
    }
}
