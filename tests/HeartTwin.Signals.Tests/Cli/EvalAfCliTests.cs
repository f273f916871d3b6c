using System.Text.Json;

namespace HeartTwin.Signals.Tests.Cli;

public class EvalAfCliTests
{
    [Fact]
    public void Eval_af_json_prints_exactly_one_object_of_the_documented_shape()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "201,101", "--format", "json");
        code.ShouldBe(0, stderr);
        stdout.Trim().Split('\n').Length.ShouldBe(1);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["database", "ectopy", "records", "se", "sp", "ppv"]);
        root.GetProperty("database").GetString().ShouldBe("mitdb");
        root.GetProperty("ectopy").GetString().ShouldBe("beat-cnn@3.4.0"); // The default: the shipped beat model, as the twin runs.
        var records = root.GetProperty("records").EnumerateArray().ToList();
        records.Select(r => r.GetProperty("record").GetString()).ShouldBe(["201", "101"]);

        var r201 = records[0];
        r201.EnumerateObject().Select(p => p.Name).ShouldBe(["record", "af_beats", "tp", "fn", "fp", "tn", "se", "sp", "ppv"]);
        r201.GetProperty("af_beats").GetInt64().ShouldBe(911);
        (r201.GetProperty("tp").GetInt64() + r201.GetProperty("fn").GetInt64()).ShouldBe(911);
        (r201.GetProperty("fp").GetInt64() + r201.GetProperty("tn").GetInt64()).ShouldBe(1963 - 911);
        r201.GetProperty("se").GetDouble().ShouldBeInRange(95.0, 100.0);

        // 101 has no AF: sensitivity and (with no AF flag) PPV are undefined, written as null, never NaN.
        var r101 = records[1];
        r101.GetProperty("af_beats").GetInt64().ShouldBe(0);
        r101.GetProperty("se").ValueKind.ShouldBe(JsonValueKind.Null);
        r101.GetProperty("sp").GetDouble().ShouldBe(100.0);

        // Top-level figures are the gross per-beat ones: here they are 201's sensitivity and the pooled specificity.
        root.GetProperty("se").GetDouble().ShouldBe(r201.GetProperty("se").GetDouble());
        var fp = records.Sum(r => r.GetProperty("fp").GetInt64());
        var tn = records.Sum(r => r.GetProperty("tn").GetInt64());
        root.GetProperty("sp").GetDouble().ShouldBe(Math.Round(100.0 * tn / (fp + tn), 3));
        root.GetProperty("ppv").GetDouble().ShouldBeInRange(0.0, 100.0);
    }

    [Fact]
    public void Evening_out_the_models_V_beats_removes_the_false_AF_of_frequent_ectopy()
    {
        // Record 106 has no AF but frequent PVCs in bigeminy and trigeminy; judged on RR intervals alone they look irregular.
        var (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "106", "--format", "json", "--ectopy", "none");
        code.ShouldBe(0, stderr);
        long FalsePositives(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.GetProperty("records")[0].GetProperty("fp").GetInt64();
        }

        FalsePositives(stdout).ShouldBeGreaterThan(400);
        JsonDocument.Parse(stdout).RootElement.GetProperty("ectopy").GetString().ShouldBe("none");

        (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "106", "--format", "json");
        code.ShouldBe(0, stderr);
        FalsePositives(stdout).ShouldBeLessThan(50);
    }

    [Fact]
    public void Eval_af_table_ends_with_the_gross_row_and_can_score_reference_beats()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "203", "--beats", "reference");
        code.ShouldBe(0, stderr);
        stdout.ShouldContain("Per-beat AF detection on mitdb");
        stdout.Trim().Split('\n')[^1].ShouldStartWith("Gross");
    }

    [Fact]
    public void Eval_af_bad_input_gives_one_line_on_stderr_and_exit_2()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", "/nonexistent/db", "--format", "json");
        code.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.ShouldContain("not found");

        (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "201,999");
        code.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.Trim().ShouldBe($"hearttwin: record '999' not found in {TestData.MitDb} (no 999.hea).");

        (code, _, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "201", "--ectopy", "bogus");
        code.ShouldNotBe(0); // A usage error, as every unknown option value is.
        stderr.ShouldContain("'bogus' not recognized");

        (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", TestData.MitDb, "--records", "201", "--model", "/nonexistent/model.onnx");
        code.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.ShouldContain("Cannot load the model from '/nonexistent/model");
    }

    [Fact]
    public void Eval_af_skips_listed_records_without_signal_files_and_says_so()
    {
        // As records 00735 and 03665 of the MIT-BIH AF Database: header and annotations, no signal file.
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("201", ".hea", ".dat", ".atr");
        dir.CopyRecord("203", ".hea", ".atr");
        File.WriteAllLines(Path.Combine(dir.Path, "RECORDS"), ["201", "203"]);
        var (code, stdout, stderr) = CliRunner.Run("eval", "af", "--db", dir.Path, "--format", "json");
        code.ShouldBe(0, stderr);
        stderr.Trim().ShouldBe("hearttwin: skipping record 203: signal file 203.dat not found.");
        using var doc = JsonDocument.Parse(stdout);
        doc.RootElement.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("record").GetString()).ShouldBe(["201"]);

        // Named explicitly, the same record is an error.
        (code, _, stderr) = CliRunner.Run("eval", "af", "--db", dir.Path, "--records", "203");
        code.ShouldBe(2);
        stderr.ShouldContain("203.dat");
    }

    [Fact]
    public void Eval_af_with_a_garbage_annotation_file_exits_2()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".hea", ".dat");
        File.WriteAllText(Path.Combine(dir.Path, "101.atr"), "not annotations\n");
        File.WriteAllLines(Path.Combine(dir.Path, "RECORDS"), ["101"]);
        var (code, _, stderr) = CliRunner.Run("eval", "af", "--db", dir.Path);
        code.ShouldBe(2);
        stderr.ShouldContain("101.atr");
    }
}
