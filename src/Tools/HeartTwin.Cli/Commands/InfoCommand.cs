using System.CommandLine;
using System.Globalization;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary><c>hearttwin info --db DIR --record R</c>: summarises a record.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = new Option<string>("--db") { Description = "Database folder (WFDB).", Required = true };
        var record = new Option<string>("--record") { Description = "Record name, for example 101.", Required = true };
        var command = new Command("info", "Summarise a WFDB record: signals, duration, annotations.") { db, record };
        command.SetAction(parse => CommandErrors.Guard(stderr, () => Run(parse.GetValue(db)!, parse.GetValue(record)!, stdout)));
        return command;
    }

    private static int Run(string dbDir, string recordName, TextWriter o)
    {
        var database = WfdbDatabase.Open(dbDir);
        var record = database.ReadRecord(recordName);
        var h = record.Header;
        var inv = CultureInfo.InvariantCulture;
        var seconds = record.Length / h.SamplingFrequencyHz;
        o.WriteLine(string.Create(inv, $"Record {h.RecordName} ({database.Name})"));
        o.WriteLine(string.Create(inv, $"  Sampling frequency: {h.SamplingFrequencyHz} Hz"));
        o.WriteLine(string.Create(inv, $"  Length: {record.Length} samples ({TimeSpan.FromSeconds(seconds):hh\\:mm\\:ss\\.fff})"));
        o.WriteLine(string.Create(inv, $"  Signals: {h.Signals.Count} (checksums verified)"));
        for (var i = 0; i < h.Signals.Count; i++)
        {
            var s = h.Signals[i];
            var x = record.Adc(i);
            var min = int.MaxValue;
            var max = int.MinValue;
            foreach (var v in x)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            o.WriteLine(string.Create(inv, $"    {i}: {s.Description,-8} format {s.Format}, {s.AdcGain} adu/{s.Units}, {s.AdcResolution}-bit, baseline {s.Baseline}, range [{(min - s.Baseline) / s.AdcGain:F3}, {(max - s.Baseline) / s.AdcGain:F3}] {s.Units}"));
        }

        var atr = Path.Combine(dbDir, recordName + ".atr");
        if (File.Exists(atr))
        {
            var annotations = database.ReadAnnotations(recordName);
            var beats = annotations.Where(a => a.IsBeat).ToList();
            o.WriteLine(string.Create(inv, $"  Annotations (atr): {annotations.Count}, of which beats: {beats.Count}"));
            var byType = beats.GroupBy(a => a.Mnemonic).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}");
            o.WriteLine(string.Create(inv, $"    Beat types: {string.Join(' ', byType)}"));
            var rhythms = annotations.Where(a => a.RhythmName is not null).Select(a => a.RhythmName!).Distinct(StringComparer.Ordinal);
            o.WriteLine(string.Create(inv, $"    Rhythms: {string.Join(' ', rhythms)}"));
            if (beats.Count > 1)
            {
                var meanRr = (beats[^1].Sample - beats[0].Sample) / (double)(beats.Count - 1) / h.SamplingFrequencyHz;
                o.WriteLine(string.Create(inv, $"    Mean heart rate: {60 / meanRr:F1} bpm"));
            }
        }

        foreach (var c in h.Comments)
        {
            o.WriteLine(string.Create(inv, $"  # {c}"));
        }

        return 0;
    }
}
