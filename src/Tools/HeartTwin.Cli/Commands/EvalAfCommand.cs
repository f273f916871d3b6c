using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>
/// <c>hearttwin eval af</c>: detects beats with the QRS detector (every ECG lead), runs the AF detector over them and scores
/// the per-beat AF flags against the reference rhythm annotations (AF = <c>(AFIB</c>).
/// </summary>
internal static class EvalAfCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = CommonOptions.Database();
        var records = CommonOptions.Records();
        var format = CommonOptions.Format();
        var beats = new Option<string>("--beats") { Description = "Beats to analyse: detector (the QRS detector on every ECG lead) or reference (the annotated beats, to separate AF errors from detection errors).", DefaultValueFactory = _ => "detector" };
        beats.AcceptOnlyFromAmong("detector", "reference");
        var command = new Command("af", "Detect AF from RR intervals and score it per beat against the reference rhythm (AF = (AFIB).") { db, records, format, beats };
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            var report = Evaluate(parse.GetValue(db)!, parse.GetValue(records), stderr, useReferenceBeats: parse.GetValue(beats) == "reference");
            return CommonOptions.WriteReport(parse.GetValue(format), report, Json, WriteTable, stdout);
        }));
        return command;
    }

    /// <summary>Runs the evaluation.</summary>
    /// <param name="dbDir">The database folder.</param>
    /// <param name="recordList">Comma-separated records, or null for every record in RECORDS.</param>
    /// <param name="notes">Where to say which listed records are skipped (those without signal files, as two records of the
    /// MIT-BIH AF Database are); null to skip silently. Records named explicitly are never skipped.</param>
    /// <param name="options">AF detector settings; null for the defaults.</param>
    /// <param name="useReferenceBeats">Analyse the annotated beats instead of the QRS detector's.</param>
    public static AfReport Evaluate(string dbDir, string? recordList, TextWriter? notes = null, AfDetectorOptions? options = null, bool useReferenceBeats = false)
    {
        var database = WfdbDatabase.Open(dbDir);
        var names = EvalQrsCommand.ParseRecords(recordList, database);
        if (string.IsNullOrWhiteSpace(recordList) && !useReferenceBeats)
        {
            names = names.Where(n =>
            {
                var missing = MissingSignals(database, n);
                if (missing is not null)
                {
                    notes?.WriteLine($"hearttwin: skipping record {n}: {missing}.");
                }

                return missing is null;
            }).ToList();
            if (names.Count == 0)
            {
                throw new UsageException($"no record in {database.Directory} has its signal files.");
            }
        }

        var results = new RecordAfResult[names.Count];
        Parallel.For(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var name = names[i];
            var reference = database.ReadAnnotations(name);
            long[] detections;
            double fs;
            if (useReferenceBeats)
            {
                fs = WfdbHeader.Read(Path.Combine(database.Directory, name + ".hea")).SamplingFrequencyHz;
                detections = AfEvaluation.ReferenceRhythm(reference).Samples;
            }
            else
            {
                var record = database.ReadRecord(name);
                fs = record.SamplingFrequencyHz;
                detections = QrsDetector.Detect(EcgLeads.ReadMillivolts(record), fs);
            }

            var analysis = AfDetector.Analyze(detections, fs, options);
            var flags = analysis.Beats.Select(b => b.IsAf).ToArray();
            results[i] = AfEvaluation.Score(name, reference, detections, flags, fs);
        });

        var gross = results.Aggregate(default(AfCounts), (acc, r) => acc + r.Counts);
        return new AfReport(
            database.Name,
            [.. results.Select(r => new AfRecordRow(
                r.Record,
                r.Counts.AfBeats,
                r.Counts.TruePositives,
                r.Counts.FalseNegatives,
                r.Counts.FalsePositives,
                r.Counts.TrueNegatives,
                Round(r.Counts.SensitivityPercent),
                Round(r.Counts.SpecificityPercent),
                Round(r.Counts.PositivePredictivityPercent)))],
            Round(gross.SensitivityPercent),
            Round(gross.SpecificityPercent),
            Round(gross.PositivePredictivityPercent),
            gross);
    }

    // Why a record's signals cannot be read (header without signals, or a missing signal file), or null.
    private static string? MissingSignals(WfdbDatabase database, string name)
    {
        var headerPath = Path.Combine(database.Directory, name + ".hea");
        if (!File.Exists(headerPath))
        {
            return null; // reading the record reports the missing header as bad input
        }

        var header = WfdbHeader.Read(headerPath);
        if (header.Signals.Count == 0)
        {
            return "its header declares no signal";
        }

        var file = header.Signals.Select(s => s.FileName).FirstOrDefault(f => !File.Exists(Path.Combine(database.Directory, f)));
        return file is null ? null : $"signal file {file} not found";
    }

    // JSON has no NaN: an undefined figure (no AF beat, no AF flag) is null.
    private static double? Round(double v) => double.IsNaN(v) ? null : Math.Round(v, 3);

    private static void WriteTable(AfReport report, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"Per-beat AF detection on {report.Database} (AF = (AFIB; beats matched ±150 ms)"));
        o.WriteLine("Record  AF beats     TP     FN     FP      TN    Se(%)    Sp(%)   PPV(%)");
        foreach (var r in report.Records)
        {
            o.WriteLine(string.Create(inv, $"{r.Record,-6} {r.AfBeats,9} {r.Tp,6} {r.Fn,6} {r.Fp,6} {r.Tn,7} {Cell(r.Se),8} {Cell(r.Sp),8} {Cell(r.Ppv),8}"));
        }

        var g = report.Gross;
        o.WriteLine(string.Create(inv, $"{"Gross",-6} {g.AfBeats,9} {g.TruePositives,6} {g.FalseNegatives,6} {g.FalsePositives,6} {g.TrueNegatives,7} {Cell(report.Se),8} {Cell(report.Sp),8} {Cell(report.Ppv),8}"));
    }

    private static string Cell(double? v) => v is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";
}

/// <summary>The JSON report of <c>eval af</c>: per-record rows and the gross per-beat figures (percent).</summary>
internal sealed record AfReport(
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("records")] IReadOnlyList<AfRecordRow> Records,
    [property: JsonPropertyName("se")] double? Se,
    [property: JsonPropertyName("sp")] double? Sp,
    [property: JsonPropertyName("ppv")] double? Ppv,
    [property: JsonIgnore] AfCounts Gross);

/// <summary>One record's row; se, sp and ppv are null where undefined (no AF beat, no non-AF beat, nothing flagged).</summary>
internal sealed record AfRecordRow(
    [property: JsonPropertyName("record")] string Record,
    [property: JsonPropertyName("af_beats")] long AfBeats,
    [property: JsonPropertyName("tp")] long Tp,
    [property: JsonPropertyName("fn")] long Fn,
    [property: JsonPropertyName("fp")] long Fp,
    [property: JsonPropertyName("tn")] long Tn,
    [property: JsonPropertyName("se")] double? Se,
    [property: JsonPropertyName("sp")] double? Sp,
    [property: JsonPropertyName("ppv")] double? Ppv);
