using System.Text;

namespace HeartTwin.Signals.Tests.Edf;

/// <summary>Builds EDF bytes field by field, without EdfWriter, so tests can craft exact and broken files.</summary>
internal sealed class HandMadeEdf
{
    public string Version { get; set; } = "0";
    public string Patient { get; set; } = "MCH-0234567 F 02-MAY-1951 Haagse_Harry";
    public string Recording { get; set; } = "Startdate 02-MAR-2002 EMG561 BK/JOP Sony. MNC R Median Nerve.";
    public string Date { get; set; } = "02.03.02";
    public string Time { get; set; } = "14.27.00";
    public string? HeaderBytes { get; set; }
    public string Reserved { get; set; } = "";
    public string Records { get; set; } = "1";
    public string Duration { get; set; } = "1";
    public string? SignalCount { get; set; }
    public List<HandMadeSignal> Signals { get; } = [];
    public List<byte> Data { get; } = [];

    public HandMadeEdf AddSamples(params short[] values)
    {
        foreach (short v in values)
        {
            Data.Add((byte)(v & 0xFF));
            Data.Add((byte)((v >> 8) & 0xFF));
        }

        return this;
    }

    public HandMadeEdf AddBytes(params byte[] bytes)
    {
        Data.AddRange(bytes);
        return this;
    }

    public HandMadeEdf AddTal(int channelBytes, string tals)
    {
        byte[] b = Encoding.UTF8.GetBytes(tals);
        if (b.Length > channelBytes)
        {
            throw new ArgumentException("TALs do not fit the channel.");
        }

        Data.AddRange(b);
        Data.AddRange(new byte[channelBytes - b.Length]);
        return this;
    }

    public byte[] Build()
    {
        int ns = Signals.Count;
        var sb = new StringBuilder();
        Put(sb, Version, 8);
        Put(sb, Patient, 80);
        Put(sb, Recording, 80);
        Put(sb, Date, 8);
        Put(sb, Time, 8);
        Put(sb, HeaderBytes ?? (256 * (ns + 1)).ToString(System.Globalization.CultureInfo.InvariantCulture), 8);
        Put(sb, Reserved, 44);
        Put(sb, Records, 8);
        Put(sb, Duration, 8);
        Put(sb, SignalCount ?? ns.ToString(System.Globalization.CultureInfo.InvariantCulture), 4);
        foreach (HandMadeSignal s in Signals) { Put(sb, s.Label, 16); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.Transducer, 80); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.Dimension, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.PhysMin, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.PhysMax, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.DigMin, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.DigMax, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.Prefilter, 80); }
        foreach (HandMadeSignal s in Signals) { Put(sb, s.SamplesPerRecord, 8); }
        foreach (HandMadeSignal s in Signals) { Put(sb, "", 32); }
        byte[] header = Encoding.ASCII.GetBytes(sb.ToString());
        return [.. header, .. Data];
    }

    private static void Put(StringBuilder sb, string value, int width)
    {
        if (value.Length > width)
        {
            throw new ArgumentException($"'{value}' is longer than {width}.");
        }

        sb.Append(value.PadRight(width));
    }
}

internal sealed record HandMadeSignal(
    string Label,
    string Dimension = "mV",
    string PhysMin = "-5",
    string PhysMax = "5",
    string DigMin = "-2048",
    string DigMax = "2047",
    string SamplesPerRecord = "4",
    string Transducer = "AgAgCl electrode",
    string Prefilter = "HP:0.1Hz LP:75Hz");
