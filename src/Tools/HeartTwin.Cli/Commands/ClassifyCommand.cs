using System.CommandLine;
using System.Globalization;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary><c>hearttwin classify</c>: writes a record's detected and classified beats as a WFDB annotation file.</summary>
internal static class ClassifyCommand
{
    /// <summary>The annotator name of the files written: <c>R.cls</c>.</summary>
    public const string Annotator = "cls";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = new Option<string>("--db") { Description = "Database folder (WFDB).", Required = true };
        var record = new Option<string>("--record") { Description = "The record to classify.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write R.cls into (created if missing).", Required = true };
        var model = new Option<string?>("--model") { Description = "The model (models/<name>.onnx, its card beside it); default: the default model in models/." };
        var command = new Command("classify", "Detect and classify a record's beats (AAMI N, S, V, F, Q) and write them as WFDB annotations (R.cls).") { db, record, output, model };
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            var database = WfdbDatabase.Open(parse.GetValue(db)!);
            var name = parse.GetValue(record)!;
            var outDir = parse.GetValue(output)!;
            using var models = BeatPipeline.LoadModels(parse.GetValue(model));
            var classifier = models.Default;
            var result = BeatPipeline.Run(new RecordReader(database), name, classifier);
            Directory.CreateDirectory(outDir);
            var path = Path.Combine(outDir, name + "." + Annotator);

            // Each beat carries its class as the MIT code (N, A for S, V, F, Q) and the model's confidence in its aux
            // text, so that a viewer shows why; the model's identity goes into a note at the start.
            var annotations = new List<Annotation>(result.Beats.Length + 1)
            {
                new(0, AnnotationCode.Note, Aux: "model " + classifier.Id),
            };
            for (var i = 0; i < result.Beats.Length; i++)
            {
                var c = result.Classes[i];
                var p = result.Probabilities[(i * result.ClassCount) + (int)c];
                annotations.Add(new Annotation(result.Beats[i], AamiMapping.ToCode(c), Aux: p.ToString("0.000", CultureInfo.InvariantCulture)));
            }

            AnnotationFile.Write(path, annotations);
            var counts = Enum.GetValues<AamiClass>().Select(c => string.Create(CultureInfo.InvariantCulture, $"{c} {result.Classes.Count(x => x == c)}"));
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {result.Beats.Length} beats ({string.Join(", ", counts)}) by {classifier.Id} -> {path}"));
            return 0;
        }));
        return command;
    }
}
