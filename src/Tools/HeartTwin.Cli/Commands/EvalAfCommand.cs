using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeartTwin.Inference;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>
/// <c>hearttwin eval af</c>: detects beats with the QRS detector (every ECG lead), runs the AF detector over them and scores
/// the per-beat AF flags against the reference rhythm annotations (AF = <c>(AFIB</c>). By default the beat model classifies
/// the beats first and the AF detector evens out the ones it calls V, as the twin does; <c>--ectopy none</c> judges the RR
/// intervals alone.
/// </summary>
internal static class EvalAfCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = CommonOptions.Database();
        var records = CommonOptions.Records();
        var format = CommonOptions.Format();
        var read = new ReadOptions();
        var beats = new Option<string>("--beats") { Description = "Beats to analyse: detector (the QRS detector on every ECG lead) or reference (the annotated beats, to separate AF errors from detection errors).", DefaultValueFactory = _ => "detector" };
        beats.AcceptOnlyFromAmong("detector", "reference");
        var ectopy = new Option<string>("--ectopy") { Description = "Ventricular ectopy: model (the beat model's V beats are evened out before the RR intervals are judged, as the twin does) or none (RR intervals alone).", DefaultValueFactory = _ => "model" };
        ectopy.AcceptOnlyFromAmong("model", "none");
        var model = new Option<string?>("--model") { Description = "The beat model for --ectopy model (models/<name>.onnx); default: the default model of the models folder." };
        var command = new Command("af", "Detect AF from RR intervals and score it per beat against the reference rhythm (AF = (AFIB).") { db, records, format, beats, ectopy, model };
        read.AddTo(command);
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            using var registry = parse.GetValue(ectopy) == "model" ? BeatPipeline.LoadModels(parse.GetValue(model)) : null;
            var report = Evaluate(parse.GetValue(db)!, parse.GetValue(records), stderr, useReferenceBeats: parse.GetValue(beats) == "reference", ectopyModel: registry?.Default, read: read.Get(parse));
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
    /// <param name="ectopyModel">The beat model whose V beats the AF detector evens out; null to judge the RR intervals alone.</param>
    /// <param name="read">How records are read (rate, reference annotator, polarity); null: as recorded, with atr.</param>
    public static AfReport Evaluate(string dbDir, string? recordList, TextWriter? notes = null, AfDetectorOptions? options = null, bool useReferenceBeats = false, BeatClassifier? ectopyModel = null, ReadSettings? read = null)
    {
        var database = WfdbDatabase.Open(dbDir);
        var reader = new RecordReader(database, read);
        var names = EvalQrsCommand.ParseRecords(recordList, database);
        var needsSignals = !useReferenceBeats || ectopyModel is not null;
        if (string.IsNullOrWhiteSpace(recordList) && needsSignals)
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
            var reference = reader.ReadAnnotations(name);
            long[] detections;
            double fs;
            bool[] ventricular = [];
            if (!needsSignals)
            {
                fs = reader.SampleRateHz(name);
                detections = AfEvaluation.ReferenceRhythm(reference).Samples;
            }
            else
            {
                var (header, leads, rate, _) = reader.ReadSignals(name);
                fs = rate;
                detections = useReferenceBeats ? AfEvaluation.ReferenceRhythm(reference).Samples : QrsDetector.Detect(leads, fs);
                if (ectopyModel is not null)
                {
                    // The twin's order: classify the beats, then judge the rhythm with the V beats evened out.
                    var features = BeatFeatureExtractor.ExtractAll(leads[EcgLeads.RhythmLead(header)], fs, detections, BeatPipeline.SpecFor(ectopyModel));
                    var (p, rr, samples) = BeatPipeline.Classify(ectopyModel, features);
                    ventricular = BeatPipeline.Ventricular(ectopyModel, p, rr, samples, detections);
                }
            }

            var analysis = AfDetector.Analyze(detections, fs, ventricular, options);
            var flags = analysis.Beats.Select(b => b.IsAf).ToArray();
            results[i] = AfEvaluation.Score(name, reference, detections, flags, fs);
        });

        var gross = results.Aggregate(default(AfCounts), (acc, r) => acc + r.Counts);
        return new AfReport(
            database.Name,
            ectopyModel?.Id ?? "none",
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
            gross)
        {
            ResampledHz = reader.RateHz,
            InvertedLeads = reader.InvertLeads ? true : null,
        };
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
        o.WriteLine(string.Create(inv, $"Per-beat AF detection on {report.Database}{report.Reading} (AF = (AFIB; beats matched ±150 ms; ventricular ectopy evened out: {(report.Ectopy == "none" ? "no" : $"the V beats of {report.Ectopy}")})"));
        o.WriteLine("Record  AF beats     TP     FN     FP      TN    Se(%)    Sp(%)   PPV(%)");
        foreach (var r in report.Records)
        {
            o.WriteLine(string.Create(inv, $"{r.Record,-6} {r.AfBeats,9} {r.Tp,6} {r.Fn,6} {r.Fp,6} {r.Tn,7} {ReportFormat.Percent(r.Se),8} {ReportFormat.Percent(r.Sp),8} {ReportFormat.Percent(r.Ppv),8}"));
        }

        var g = report.Gross;
        o.WriteLine(string.Create(inv, $"{"Gross",-6} {g.AfBeats,9} {g.TruePositives,6} {g.FalseNegatives,6} {g.FalsePositives,6} {g.TrueNegatives,7} {ReportFormat.Percent(report.Se),8} {ReportFormat.Percent(report.Sp),8} {ReportFormat.Percent(report.Ppv),8}"));
    }

}

/// <summary>The JSON report of <c>eval af</c>: per-record rows and the gross per-beat figures (percent).</summary>
internal sealed record AfReport(
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("ectopy")] string Ectopy,
    [property: JsonPropertyName("records")] IReadOnlyList<AfRecordRow> Records,
    [property: JsonPropertyName("se")] double? Se,
    [property: JsonPropertyName("sp")] double? Sp,
    [property: JsonPropertyName("ppv")] double? Ppv,
    [property: JsonIgnore] AfCounts Gross) : ReadReport;

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
