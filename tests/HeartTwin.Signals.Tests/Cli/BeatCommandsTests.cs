using System.Text.Json;
using System.Text.Json.Nodes;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Cli;

public class BeatCommandsTests
{
    [Fact]
    public void Eval_beats_json_has_the_documented_shape_and_adds_up()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "119,104", "--model", TestData.FixtureModel, "--format", "json");
        code.ShouldBe(0, stderr);
        stdout.Trim().Split('\n').Length.ShouldBe(1);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["model", "records", "classes", "accuracy", "confusion"]);
        root.GetProperty("model").GetString().ShouldBe("tiny-beat");
        root.GetProperty("classes").EnumerateObject().Select(p => p.Name).ShouldBe(["N", "S", "V", "F", "Q"]);
        foreach (var c in root.GetProperty("classes").EnumerateObject())
        {
            c.Value.EnumerateObject().Select(p => p.Name).ShouldBe(["tp", "fn", "fp", "se", "ppv"]);
        }

        var confusion = root.GetProperty("confusion");
        confusion.GetProperty("labels").EnumerateArray().Select(l => l.GetString()).ShouldBe(["N", "S", "V", "F", "Q"]);
        var matrix = confusion.GetProperty("matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        matrix.Length.ShouldBe(5);

        // 104 is paced: left out. 119's reference beats are all matched or missed, and each class's TP+FN is its reference count.
        var records = root.GetProperty("records").EnumerateArray().ToList();
        records[1].GetProperty("excluded").GetString().ShouldBe("paced");
        var r119 = records[0];
        r119.GetProperty("reference_beats").GetInt64().ShouldBe(1987);
        (r119.GetProperty("matched").GetInt64() + r119.GetProperty("missed").GetInt64()).ShouldBe(1987);
        matrix.Sum(r => r.Sum()).ShouldBe(r119.GetProperty("matched").GetInt64());
        var reference = AnnotationFile.Read(TestData.MitDb, "119", "atr");
        var v = root.GetProperty("classes").GetProperty("V");
        (v.GetProperty("tp").GetInt64() + v.GetProperty("fn").GetInt64()).ShouldBe(reference.Count(a => AamiMapping.FromCode(a.Code) == AamiClass.V));
    }

    [Fact]
    public void Classify_writes_annotations_that_read_back_as_AAMI_beats()
    {
        using var dir = TestData.NewTempDir();
        var (code, stdout, stderr) = CliRunner.Run("classify", "--db", TestData.MitDb, "--record", "119", "--out", dir.Path, "--model", TestData.FixtureModel);
        code.ShouldBe(0, stderr);
        stdout.ShouldContain("tiny-beat@0.1.0");
        var written = AnnotationFile.Read(dir.Path, "119", "cls");
        var beats = written.Where(a => a.IsBeat).ToList();
        beats.Count.ShouldBeInRange(1980, 2000);
        beats.ShouldAllBe(a => AamiMapping.FromCode(a.Code) != null);
        written[0].Aux!.ShouldContain("tiny-beat@0.1.0");
    }

    [Fact]
    public void A_missing_model_is_a_clear_error()
    {
        var (code, _, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "119", "--model", "/nonexistent/m.onnx");
        code.ShouldBe(2);
        stderr.ShouldContain("model card");
    }

    [Fact]
    public void A_corrupt_model_is_a_clear_error()
    {
        using var dir = TestData.NewTempDir();
        File.Copy(Path.ChangeExtension(TestData.FixtureModel, ".json"), Path.Combine(dir.Path, "tiny-beat.json"));
        File.WriteAllBytes(Path.Combine(dir.Path, "tiny-beat.onnx"), [1, 2, 3, 4, 5]);
        var (code, _, stderr) = CliRunner.Run("classify", "--db", TestData.MitDb, "--record", "119", "--out", dir.Path, "--model", Path.Combine(dir.Path, "tiny-beat.onnx"));
        code.ShouldBe(2);
        stderr.ShouldStartWith("hearttwin: ");
    }

    [Fact]
    public void An_unknown_record_is_a_clear_error()
    {
        using var dir = TestData.NewTempDir();
        var (code, _, stderr) = CliRunner.Run("classify", "--db", TestData.MitDb, "--record", "999", "--out", dir.Path, "--model", TestData.FixtureModel);
        code.ShouldBe(2);
        stderr.ShouldStartWith("hearttwin: ");
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public void A_spec_version_2_model_is_served_v2_features()
    {
        // The untrained v2 fixture of the Inference tests (4 channels, 9 RR features): the command must cut v2 features
        // for it (a v1 window would be refused by the card check or the tensor shapes) and score every beat.
        var model = Path.Combine(Path.GetDirectoryName(TestData.FixtureModel)!, "tiny-beat-v2.onnx");
        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "119", "--model", model, "--format", "json");
        code.ShouldBe(0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        doc.RootElement.GetProperty("model").GetString().ShouldBe("tiny-beat-v2");
        var r119 = doc.RootElement.GetProperty("records")[0];
        r119.GetProperty("matched").GetInt64().ShouldBeGreaterThan(1900); // of 1,987 reference beats
        var matrix = doc.RootElement.GetProperty("confusion").GetProperty("matrix").EnumerateArray().Sum(r => r.EnumerateArray().Sum(v => v.GetInt64()));
        matrix.ShouldBe(r119.GetProperty("matched").GetInt64());
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public void A_spec_version_3_model_classifies_an_inverted_lead_as_it_classifies_the_lead()
    {
        // The v2 fixture's network declared as a spec v3 model: the command cuts polarity-normalised windows, so reading
        // 207 (whose rhythm lead points down) with its leads inverted changes no class, whatever the network.
        using var dir = TestData.NewTempDir();
        var fixtures = Path.GetDirectoryName(TestData.FixtureModel)!;
        var card = JsonNode.Parse(File.ReadAllText(Path.Combine(fixtures, "tiny-beat-v2.json")))!;
        card["name"] = "tiny-beat-v3";
        card["input"]!["spec_version"] = 3;
        card["onnx"] = "tiny-beat-v3.onnx";
        File.WriteAllText(Path.Combine(dir.Path, "tiny-beat-v3.json"), card.ToJsonString());
        File.Copy(Path.Combine(fixtures, "tiny-beat-v2.onnx"), Path.Combine(dir.Path, "tiny-beat-v3.onnx"));
        var model = Path.Combine(dir.Path, "tiny-beat-v3.onnx");

        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "207", "--model", model, "--format", "json");
        code.ShouldBe(0, stderr);
        var (codeInverted, stdoutInverted, stderrInverted) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "207", "--model", model, "--format", "json", "--invert-leads");
        codeInverted.ShouldBe(0, stderrInverted);

        using var doc = JsonDocument.Parse(stdout);
        using var inverted = JsonDocument.Parse(stdoutInverted);
        inverted.RootElement.GetProperty("inverted_leads").GetBoolean().ShouldBeTrue();
        inverted.RootElement.GetProperty("confusion").GetRawText().ShouldBe(doc.RootElement.GetProperty("confusion").GetRawText());
        inverted.RootElement.GetProperty("classes").GetRawText().ShouldBe(doc.RootElement.GetProperty("classes").GetRawText());

        // Declared as v2, the same network sees 207 the other way round when its leads are inverted.
        var v2 = Path.Combine(fixtures, "tiny-beat-v2.onnx");
        var (_, v2Out, _) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "207", "--model", v2, "--format", "json");
        var (_, v2Inverted, _) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "207", "--model", v2, "--format", "json", "--invert-leads");
        using var a = JsonDocument.Parse(v2Out);
        using var b = JsonDocument.Parse(v2Inverted);
        b.RootElement.GetProperty("confusion").GetRawText().ShouldNotBe(a.RootElement.GetProperty("confusion").GetRawText());
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public void Serving_reads_beats_as_the_shipped_model_was_trained_on_them()
    {
        // 119 and 208 are training records of models/beat-cnn: on them the model is near perfect, unless the C# beat
        // windows or RR features have drifted from the ones it was trained on (this is not a measure of generalisation;
        // the card's cross-validation is).
        using var doc = ShippedModel("119,208");
        var classes = doc.RootElement.GetProperty("classes");
        classes.GetProperty("V").GetProperty("se").GetDouble().ShouldBeGreaterThan(95);
        classes.GetProperty("V").GetProperty("ppv").GetDouble().ShouldBeGreaterThan(95);
        classes.GetProperty("N").GetProperty("se").GetDouble().ShouldBeGreaterThan(96);

        // Accuracy over the N and V beats: since beat-cnn 2.2.0 the card's decision re-decides F calls by their timing, so the
        // 373 F beats of 208 that the network memorised are N now, by design, and say nothing of drift (accuracy 91%).
        var matrix = doc.RootElement.GetProperty("confusion").GetProperty("matrix");
        double Row(int c) => matrix[c].EnumerateArray().Sum(v => v.GetInt64());
        double diagonal = matrix[0][0].GetInt64() + matrix[2][2].GetInt64();
        (100 * diagonal / (Row(0) + Row(2))).ShouldBeGreaterThan(97);
    }

    [Fact]
    public void A_rate_without_a_denominator_is_null_in_json_and_a_dash_in_the_table_not_100()
    {
        // Record 119 has no S, F or Q reference beats, and the shipped model (since 2.2.0) never says F: bxb prints "-" there.
        using (var doc = ShippedModel("119"))
        {
            var f = doc.RootElement.GetProperty("classes").GetProperty("F");
            f.GetProperty("se").ValueKind.ShouldBe(JsonValueKind.Null);
            f.GetProperty("ppv").ValueKind.ShouldBe(JsonValueKind.Null);
            doc.RootElement.GetProperty("classes").GetProperty("V").GetProperty("se").GetDouble().ShouldBeGreaterThan(95);
        }

        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "119", "--model", ShippedModelPath);
        code.ShouldBe(0, stderr);
        var fRow = stdout.Split('\n').First(l => l.StartsWith("F ", StringComparison.Ordinal)); // the class table, before the confusion matrix
        fRow.Split(' ', StringSplitOptions.RemoveEmptyEntries).ShouldBe(["F", "0", "0", "0", "-", "-"]);
    }

    [Fact]
    [Trait("Regression", "issue-3")]
    public void The_shipped_model_calls_premature_atrial_beats_S_and_beats_in_AF_not()
    {
        // 220: 94 atrial premature beats in sinus rhythm. 203: AF and flutter for most of the record, 2 S beats. The network
        // alone (argmax) called 683 N beats S in the DS1 cross-validation; the decision calls a beat S only when it is at least 20% early
        // against the long RR baseline and the AF detector does not put it in AF. Without the AF gate 578 of 203's N beats would be S.
        using (var doc = ShippedModel("220"))
        {
            var sClass = doc.RootElement.GetProperty("classes").GetProperty("S");
            sClass.GetProperty("se").GetDouble().ShouldBeGreaterThan(85);
            sClass.GetProperty("ppv").GetDouble().ShouldBeGreaterThan(85);
        }

        using (var doc = ShippedModel("203"))
        {
            doc.RootElement.GetProperty("classes").GetProperty("S").GetProperty("fp").GetInt64().ShouldBeLessThan(60);
        }
    }

    private static string ShippedModelPath => Path.Combine(TestData.RepoRoot, "models", "beat-cnn.onnx");

    // `eval beats --format json` with the shipped model on some shared records.
    [Fact]
    [Trait("Regression", "issue-3")]
    public void Eval_beats_votes_each_record_in_its_morphology_families()
    {
        // The shipped card with and without decision.families (same network): on 203 and 208, records with many PVCs and
        // AF with aberrant conduction, the families overrule isolated V calls, so fewer beats are called V.
        using var dir = TestData.NewTempDir();
        var card = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(ShippedModelPath, ".json")))!;
        card["decision"]!.AsObject().Remove("families");
        card["version"] = "0.0.1";
        File.WriteAllText(Path.Combine(dir.Path, "beat-cnn.json"), card.ToJsonString());
        File.Copy(ShippedModelPath, Path.Combine(dir.Path, "beat-cnn.onnx"));

        using var with = ShippedModel("203,208");
        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "203,208", "--model", Path.Combine(dir.Path, "beat-cnn.onnx"), "--format", "json");
        code.ShouldBe(0, stderr);
        using var without = JsonDocument.Parse(stdout);

        long CalledV(JsonDocument doc) => doc.RootElement.GetProperty("confusion").GetProperty("matrix").EnumerateArray().Sum(row => row[2].GetInt64());
        CalledV(with).ShouldBeLessThan(CalledV(without));
        with.RootElement.GetProperty("classes").GetProperty("V").GetProperty("ppv").GetDouble()
            .ShouldBeGreaterThan(without.RootElement.GetProperty("classes").GetProperty("V").GetProperty("ppv").GetDouble());
    }

    private static JsonDocument ShippedModel(string records)
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", records, "--model", ShippedModelPath, "--format", "json");
        code.ShouldBe(0, stderr);
        return JsonDocument.Parse(stdout);
    }
}
