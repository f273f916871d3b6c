using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>
/// <c>hearttwin eval beats</c>: detects beats with our detector, classifies them with a model, and scores the classes
/// against the reference per ANSI/AAMI EC57, leaving out paced records.
/// </summary>
internal static class EvalBeatsCommand
{
    /// <summary>MIT-BIH's paced records, which EC57 leaves out of beat-classification statistics.</summary>
    private static readonly HashSet<string> PacedRecords = new(["102", "104", "107", "217"], StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = CommonOptions.Database();
        var records = CommonOptions.Records();
        var model = new Option<string?>("--model") { Description = "The model (models/<name>.onnx, its card beside it); default: the default model in models/." };
        var format = CommonOptions.Format();
        var read = new ReadOptions();
        var command = new Command("beats", "Detect and classify beats, and score the AAMI classes (N, S, V, F, Q) against the reference (±150 ms, EC57).") { db, records, model, format };
        read.AddTo(command);
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            var report = Evaluate(parse.GetValue(db)!, parse.GetValue(records), parse.GetValue(model), read.Get(parse));
            return CommonOptions.WriteReport(parse.GetValue(format), report, Json, WriteTable, stdout);
        }));
        return command;
    }

    /// <summary>Whether a record is paced: MIT-BIH's four, or any record whose reference beats are mostly paced.</summary>
    internal static bool IsPaced(string name, IReadOnlyList<Annotation> reference) =>
        PacedRecords.Contains(name)
        || reference.Count(a => a.IsBeat && AnnotationCode.Mnemonic(a.Code) is "/" or "f") * 2 > reference.Count(a => a.IsBeat);

    public static BeatsReport Evaluate(string dbDir, string? recordList, string? modelPath, ReadSettings? read = null)
    {
        var database = WfdbDatabase.Open(dbDir);
        var reader = new RecordReader(database, read);
        var names = EvalQrsCommand.ParseRecords(recordList, database);
        using var models = BeatPipeline.LoadModels(modelPath);
        var model = models.Default;
        var results = new RecordBeatResult?[names.Count];
        Parallel.For(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var reference = reader.ReadAnnotations(names[i]);
            if (IsPaced(names[i], reference))
            {
                return;
            }

            var classified = BeatPipeline.Run(reader, names[i], model);
            results[i] = BeatClassEvaluation.Score(names[i], reference, classified.Beats, classified.Classes, classified.SampleRateHz, classified.Length);
        });

        var matched = new ConfusionMatrix();
        var missed = new long[BeatClassEvaluation.ClassCount];
        var extra = new long[BeatClassEvaluation.ClassCount];
        var rows = new List<BeatsRecordRow>();
        for (var i = 0; i < names.Count; i++)
        {
            if (results[i] is not { } r)
            {
                rows.Add(new BeatsRecordRow(names[i], 0, 0, 0, 0, 0, "paced"));
                continue;
            }

            matched.Add(r.Matched);
            for (var k = 0; k < BeatClassEvaluation.ClassCount; k++)
            {
                missed[k] += r.Missed[k];
                extra[k] += r.Extra[k];
            }

            rows.Add(new BeatsRecordRow(r.Record, r.ReferenceBeats, r.Matched.Total, r.Missed.Sum(), r.Extra.Sum(), Round(r.Matched.AccuracyPercent), null));
        }

        var classes = new Dictionary<string, BeatsClassRow>(StringComparer.Ordinal);
        foreach (var c in Enum.GetValues<AamiClass>())
        {
            var s = RecordBeatResult.Statistics(matched, missed, extra, c);
            // A class never predicted has no +P (null, "-" in the table), not 100%.
            classes[c.ToString()] = new BeatsClassRow(
                s.TruePositives, s.FalseNegatives, s.FalsePositives, Round(s.DefinedSensitivityPercent), Round(s.DefinedPositivePredictivityPercent));
        }

        return new BeatsReport(
            model.Name,
            rows,
            classes,
            Round(matched.AccuracyPercent),
            new BeatsConfusion(AamiMapping.Labels, matched.ToRows()))
        {
            ModelId = model.Id,
            ResampledHz = reader.RateHz,
            InvertedLeads = reader.InvertLeads ? true : null,
        };
    }

    private static double Round(double v) => Math.Round(v, 3);

    private static double? Round(double? v) => v is { } x ? Round(x) : null;

    private static void WriteTable(BeatsReport report, TextWriter stdout)
    {
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(inv, $"Beat classes on the detected beats{report.Reading}, model {report.ModelId}, match window ±150 ms (AAMI EC57)"));
        stdout.WriteLine("Class      TP      FN      FP     Se(%)    +P(%)");
        foreach (var (label, c) in report.Classes)
        {
            stdout.WriteLine(string.Create(inv, $"{label,-5} {c.Tp,7} {c.Fn,7} {c.Fp,7} {ReportFormat.Percent(c.Se),9} {ReportFormat.Percent(c.Ppv),8}"));
        }

        stdout.WriteLine(string.Create(inv, $"Accuracy on matched beats: {report.Accuracy:F2}%"));
        stdout.WriteLine();
        stdout.WriteLine("Confusion (rows: reference, columns: predicted)");
        stdout.WriteLine("         " + string.Concat(report.Confusion.Labels.Select(l => l.PadLeft(8))));
        for (var i = 0; i < report.Confusion.Labels.Count; i++)
        {
            stdout.WriteLine(report.Confusion.Labels[i].PadRight(9) + string.Concat(report.Confusion.Matrix[i].Select(v => v.ToString(inv).PadLeft(8))));
        }

        stdout.WriteLine();
        stdout.WriteLine("Record   Beats  Matched  Missed  Extra  Accuracy(%)");
        foreach (var r in report.Records)
        {
            stdout.WriteLine(r.Excluded is null
                ? string.Create(inv, $"{r.Record,-7} {r.ReferenceBeats,6} {r.Matched,8} {r.Missed,7} {r.Extra,6} {r.Accuracy,12:F2}")
                : string.Create(inv, $"{r.Record,-7} left out ({r.Excluded})"));
        }
    }
}

/// <summary>The JSON report of <c>eval beats</c>.</summary>
internal sealed record BeatsReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("records")] IReadOnlyList<BeatsRecordRow> Records,
    [property: JsonPropertyName("classes")] IReadOnlyDictionary<string, BeatsClassRow> Classes,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("confusion")] BeatsConfusion Confusion) : ReadReport
{
    /// <summary>The model's name@version, for the table (the JSON's shape names the model by name).</summary>
    [JsonIgnore]
    public string ModelId { get; init; } = "";
}

internal sealed record BeatsRecordRow(
    [property: JsonPropertyName("record")] string Record,
    [property: JsonPropertyName("reference_beats")] long ReferenceBeats,
    [property: JsonPropertyName("matched")] long Matched,
    [property: JsonPropertyName("missed")] long Missed,
    [property: JsonPropertyName("extra")] long Extra,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("excluded")] string? Excluded);

internal sealed record BeatsClassRow(
    [property: JsonPropertyName("tp")] long Tp,
    [property: JsonPropertyName("fn")] long Fn,
    [property: JsonPropertyName("fp")] long Fp,
    [property: JsonPropertyName("se"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Se,
    [property: JsonPropertyName("ppv"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Ppv);

internal sealed record BeatsConfusion(
    [property: JsonPropertyName("labels")] IReadOnlyList<string> Labels,
    [property: JsonPropertyName("matrix")] long[][] Matrix);
