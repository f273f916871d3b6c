using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary><c>hearttwin eval qrs</c>: runs the QRS detector over whole records and scores it as bxb does.</summary>
internal static class EvalQrsCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = CommonOptions.Database();
        var records = CommonOptions.Records();
        var format = CommonOptions.Format();
        var read = new ReadOptions();
        var write = new Option<string?>("--write-annotations") { Description = "Folder to write the detections into, as WFDB annotation files R.qrs." };
        var errors = new Option<string?>("--errors") { Description = "File to write every false positive and false negative into (CSV), for error analysis." };
        var command = new Command("qrs", "Detect QRS complexes and score them against the reference (±150 ms, EC57).") { db, records, format, write, errors };
        read.AddTo(command);
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            var report = Evaluate(parse.GetValue(db)!, parse.GetValue(records), parse.GetValue(write), parse.GetValue(errors), read.Get(parse));
            return CommonOptions.WriteReport(parse.GetValue(format), report, Json, WriteTable, stdout);
        }));
        return command;
    }

    public static QrsReport Evaluate(string dbDir, string? recordList, string? writeDir, string? errorsFile = null, ReadSettings? read = null)
    {
        var database = WfdbDatabase.Open(dbDir);
        var reader = new RecordReader(database, read);
        var names = ParseRecords(recordList, database);
        var results = new RecordQrsResult[names.Count];
        Parallel.For(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var name = names[i];
            var signals = reader.ReadSignals(name);
            var reference = reader.ReadAnnotations(name);
            var detections = QrsDetector.Detect(signals.Leads, signals.SampleRateHz);
            results[i] = QrsEvaluation.Score(name, reference, detections, signals.SampleRateHz, signals.Length);
            if (writeDir is not null)
            {
                AnnotationFile.Write(Path.Combine(writeDir, name + ".qrs"), detections.Select(d => new Annotation(d, AnnotationCode.Normal)));
            }
        });

        if (errorsFile is not null)
        {
            WriteErrors(errorsFile, results, reader);
        }

        var gross = results.Aggregate(default(DetectionCounts), (acc, r) => acc + r.Counts);
        return new QrsReport(
            database.Name,
            (int)BeatMatcher.DefaultWindowMs,
            results.Select(r => new QrsRecordRow(r.Record, r.ReferenceBeats, r.Counts.TruePositives, r.Counts.FalsePositives, r.Counts.FalseNegatives, Round(r.Counts.SensitivityPercent), Round(r.Counts.PositivePredictivityPercent))).ToList(),
            new QrsGross(gross.TruePositives, gross.FalsePositives, gross.FalseNegatives, Round(gross.SensitivityPercent), Round(gross.PositivePredictivityPercent)))
        {
            ResampledHz = reader.RateHz,
            InvertedLeads = reader.InvertLeads ? true : null,
        };
    }

    internal static List<string> ParseRecords(string? recordList, WfdbDatabase database)
    {
        if (string.IsNullOrWhiteSpace(recordList))
        {
            return [.. database.Records];
        }

        var names = recordList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (var n in names)
        {
            if (!File.Exists(Path.Combine(database.Directory, n + ".hea")))
            {
                throw new UsageException($"record '{n}' not found in {database.Directory} (no {n}.hea).");
            }
        }

        return names;
    }

    private static void WriteErrors(string path, RecordQrsResult[] results, RecordReader reader)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("record,kind,sample,seconds,reference");
        foreach (var r in results)
        {
            var fs = reader.SampleRateHz(r.Record);

            // At a lower rate two annotations may round to one sample; the first names it.
            var atr = reader.ReadAnnotations(r.Record).Where(a => a.IsBeat).GroupBy(a => a.Sample).ToDictionary(g => g.Key, g => g.First().Mnemonic);
            foreach (var m in r.Matches)
            {
                if (m.ReferenceIndex >= 0 && m.TestIndex >= 0)
                {
                    continue;
                }

                var fn = m.TestIndex < 0;
                var sample = fn ? r.ReferenceSamples[m.ReferenceIndex] : r.TestSamples[m.TestIndex];
                var label = fn ? atr.GetValueOrDefault(sample, "?") : string.Empty;
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Record},{(fn ? "FN" : "FP")},{sample},{sample / fs:F3},{label}"));
            }
        }
    }

    private static double Round(double v) => Math.Round(v, 3);

    private static void WriteTable(QrsReport report, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"QRS detection on {report.Database}{report.Reading}, match window ±{report.WindowMs} ms"));
        o.WriteLine("Record   Beats     TP    FP    FN     Se(%)    +P(%)");
        foreach (var r in report.Records)
        {
            o.WriteLine(string.Create(inv, $"{r.Record,-6} {r.ReferenceBeats,7} {r.Tp,6} {r.Fp,5} {r.Fn,5} {r.Se,9:F2} {r.Ppv,8:F2}"));
        }

        var g = report.Gross;
        o.WriteLine(string.Create(inv, $"{"Gross",-6} {g.Tp + g.Fn,7} {g.Tp,6} {g.Fp,5} {g.Fn,5} {g.Se,9:F3} {g.Ppv,8:F3}"));
    }
}

/// <summary>The JSON report of <c>eval qrs</c>.</summary>
internal sealed record QrsReport(
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("window_ms")] int WindowMs,
    [property: JsonPropertyName("records")] IReadOnlyList<QrsRecordRow> Records,
    [property: JsonPropertyName("gross")] QrsGross Gross) : ReadReport;

/// <summary>One record's row.</summary>
internal sealed record QrsRecordRow(
    [property: JsonPropertyName("record")] string Record,
    [property: JsonPropertyName("reference_beats")] long ReferenceBeats,
    [property: JsonPropertyName("tp")] long Tp,
    [property: JsonPropertyName("fp")] long Fp,
    [property: JsonPropertyName("fn")] long Fn,
    [property: JsonPropertyName("se")] double Se,
    [property: JsonPropertyName("ppv")] double Ppv);

/// <summary>Gross statistics over all records.</summary>
internal sealed record QrsGross(
    [property: JsonPropertyName("tp")] long Tp,
    [property: JsonPropertyName("fp")] long Fp,
    [property: JsonPropertyName("fn")] long Fn,
    [property: JsonPropertyName("se")] double Se,
    [property: JsonPropertyName("ppv")] double Ppv);
