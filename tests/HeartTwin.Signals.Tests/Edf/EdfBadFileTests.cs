using HeartTwin.Signals.Edf;

namespace HeartTwin.Signals.Tests.Edf;

public class EdfBadFileTests
{
    private static HandMadeEdf TwoSignals()
    {
        // Two signals of 4 samples per record, 2 records: 2 × 16 = 32 data bytes after a 768-byte header.
        var edf = new HandMadeEdf { Records = "2" };
        edf.Signals.Add(new HandMadeSignal("ECG I"));
        edf.Signals.Add(new HandMadeSignal("ECG II"));
        edf.AddSamples(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        return edf;
    }

    private static SignalFormatException Fails(HandMadeEdf edf) => Fails(edf.Build());

    private static SignalFormatException Fails(byte[] bytes)
    {
        SignalFormatException ex = Should.Throw<SignalFormatException>(() => EdfReader.Read(bytes, "bad.edf"));
        ex.Message.ShouldContain("'bad.edf'");
        return ex;
    }

    [Fact]
    public void The_well_formed_baseline_reads()
    {
        EdfReader.Read(TwoSignals().Build(), "good.edf").Signals.Count.ShouldBe(2);
    }

    [Fact]
    public void A_file_shorter_than_256_bytes_is_rejected()
    {
        Fails(new byte[100]).Message.ShouldContain("100 bytes long, shorter than the 256-byte");
        Fails([]).Message.ShouldContain("0 bytes long");
    }

    [Fact]
    public void A_header_bytes_field_disagreeing_with_the_signal_count_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.HeaderBytes = "512";
        string message = Fails(edf).Message;
        message.ShouldContain("header says it is 512 bytes");
        message.ShouldContain("256 × (1 + 2) = 768");
    }

    [Fact]
    public void A_record_count_disagreeing_with_the_file_size_is_rejected_naming_both_sizes()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Records = "3";
        string message = Fails(edf).Message;
        message.ShouldContain("declares 3 data records of 16 bytes");
        message.ShouldContain("should be 768 + 3 × 16 = 816 bytes, but it is 800 bytes");
    }

    [Fact]
    public void A_truncated_last_record_is_rejected_naming_expected_and_actual_sizes()
    {
        byte[] bytes = TwoSignals().Build();
        string message = Fails(bytes[..^3]).Message;
        message.ShouldContain("should be 768 + 2 × 16 = 800 bytes, but it is 797 bytes");
        message.ShouldContain("truncated: 1 whole data records present, 13 bytes of a partial one");
    }

    [Fact]
    public void A_truncated_last_record_is_rejected_when_the_record_count_is_unknown()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Records = "-1";
        string message = Fails(edf.Build()[..^1]).Message;
        message.ShouldContain("31 data bytes are not a whole number of 16-byte data records");
        message.ShouldContain("truncated");
    }

    [Fact]
    public void Bytes_after_the_last_record_are_rejected()
    {
        byte[] bytes = [.. TwoSignals().Build(), 0, 0];
        Fails(bytes).Message.ShouldContain("2 bytes follow the last declared data record");
    }

    [Fact]
    public void A_truncated_header_is_rejected()
    {
        Fails(TwoSignals().Build()[..600]).Message.ShouldContain("header alone must be 768 bytes (truncated header)");
    }

    [Fact]
    public void Digital_minimum_not_below_maximum_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[1] = edf.Signals[1] with { DigMin = "2047", DigMax = "2047" };
        Fails(edf).Message.ShouldContain("digital minimum (2047) of signal 2 ('ECG II') is not less than its digital maximum (2047)");
    }

    [Fact]
    public void Digital_range_beyond_16_bits_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[0] = edf.Signals[0] with { DigMax = "40000" };
        Fails(edf).Message.ShouldContain("exceeds the 16-bit range");
    }

    [Fact]
    public void Equal_physical_minimum_and_maximum_are_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[0] = edf.Signals[0] with { PhysMin = "3.5", PhysMax = "3.5" };
        Fails(edf).Message.ShouldContain("physical minimum and maximum of signal 1 ('ECG I') are both 3.5");
    }

    [Fact]
    public void Garbage_samples_per_record_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[1] = edf.Signals[1] with { SamplesPerRecord = "4x!" };
        Fails(edf).Message.ShouldContain("number of samples per data record of signal 2 ('ECG II') is '4x!', which is not an integer");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-4")]
    public void Non_positive_samples_per_record_is_rejected(string value)
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[0] = edf.Signals[0] with { SamplesPerRecord = value };
        Fails(edf).Message.ShouldContain("it must be positive");
    }

    [Fact]
    public void Non_numeric_physical_minimum_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Signals[0] = edf.Signals[0] with { PhysMin = "low" };
        Fails(edf).Message.ShouldContain("physical minimum of signal 1 ('ECG I') is 'low', which is not a number");
    }

    [Fact]
    public void Non_numeric_fixed_header_fields_are_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Records = "two";
        Fails(edf).Message.ShouldContain("number of data records is 'two', which is not an integer");

        edf = TwoSignals();
        edf.SignalCount = "2a";
        Fails(edf).Message.ShouldContain("number of signals is '2a'");

        edf = TwoSignals();
        edf.Duration = "1 s";
        Fails(edf).Message.ShouldContain("duration of a data record is '1 s', which is not a number");
    }

    [Fact]
    public void Negative_record_duration_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Duration = "-1";
        Fails(edf).Message.ShouldContain("duration of a data record is -1 s, which is negative");
    }

    [Fact]
    public void Zero_record_duration_with_sampled_signals_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Duration = "0";
        Fails(edf).Message.ShouldContain("duration of a data record is 0");
    }

    [Fact]
    public void Record_count_below_minus_one_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Records = "-2";
        Fails(edf).Message.ShouldContain("number of data records is -2");
    }

    [Theory]
    [InlineData("2.3.2002", "is not in the form dd.mm.yy")]
    [InlineData("31.02.02", "is not a valid calendar date")]
    public void Bad_start_dates_are_rejected(string date, string expected)
    {
        HandMadeEdf edf = TwoSignals();
        edf.Date = date;
        Fails(edf).Message.ShouldContain(expected);
    }

    [Fact]
    public void Bad_start_time_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Time = "25.00.00";
        Fails(edf).Message.ShouldContain("start time '25.00.00' is not a valid time of day");
    }

    [Fact]
    public void A_wrong_version_and_BDF_are_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Version = "1";
        Fails(edf).Message.ShouldContain("version field is '1'");

        byte[] bdf = TwoSignals().Build();
        bdf[0] = 0xFF;
        Fails(bdf).Message.ShouldContain("BDF");
    }

    [Fact]
    public void An_unknown_EDF_plus_variant_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Reserved = "EDF+X";
        Fails(edf).Message.ShouldContain("neither 'EDF+C' nor 'EDF+D'");
    }

    private static HandMadeEdf WithAnnotations(string firstRecordTals)
    {
        var edf = new HandMadeEdf { Reserved = "EDF+C", Records = "1" };
        edf.Signals.Add(new HandMadeSignal("ECG", SamplesPerRecord: "2"));
        edf.Signals.Add(new HandMadeSignal("EDF Annotations", "", "-1", "1", "-32768", "32767", "16"));
        edf.AddSamples(1, 2).AddTal(32, firstRecordTals);
        return edf;
    }

    [Theory]
    [InlineData("0\u0014\u0014\0", "does not start with '+' or '-'")]
    [InlineData("+1x\u0014\u0014\0", "onset '+1x' is not a decimal number")]
    [InlineData("+0\u0015abc\u0014\u0014\0", "duration 'abc' is not a decimal number")]
    [InlineData("+0\u0014\u0014\0+1\u0014Open", "not terminated by 0x14")]
    [InlineData("+0", "not followed by 0x14")]
    [InlineData("+0\u0014Not empty\u0014\0", "must be the time-keeping TAL")]
    [InlineData("", "no time-keeping TAL")]
    public void Unreadable_TALs_are_rejected(string tals, string expected)
    {
        string message = Fails(WithAnnotations(tals)).Message;
        message.ShouldContain("data record 0");
        message.ShouldContain(expected);
    }

    [Fact]
    public void Invalid_UTF8_in_an_annotation_is_rejected()
    {
        HandMadeEdf edf = WithAnnotations("");
        edf.Data.RemoveRange(4, 32);
        edf.AddBytes([.. "+0\u0014\u0014\0+1\u0014"u8, 0xC3, 0x28, 0x14, 0x00]);
        edf.AddBytes(new byte[32 - 12]);
        Fails(edf).Message.ShouldContain("not valid UTF-8");
    }

    [Fact]
    public void EDF_plus_D_without_an_annotation_channel_is_rejected()
    {
        HandMadeEdf edf = TwoSignals();
        edf.Reserved = "EDF+D";
        Fails(edf).Message.ShouldContain("EDF+D (discontinuous) but has no 'EDF Annotations' channel");
    }
}
