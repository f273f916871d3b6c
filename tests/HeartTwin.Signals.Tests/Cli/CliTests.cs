using System.Text.Json;

namespace HeartTwin.Signals.Tests.Cli;

public class CliTests
{
    [Fact]
    public void Eval_qrs_json_prints_exactly_one_object_of_the_documented_shape()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--records", "101,106", "--format", "json");
        code.ShouldBe(0, stderr);
        stdout.Trim().Split('\n').Length.ShouldBe(1);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        root.GetProperty("database").GetString().ShouldBe("mitdb");
        root.GetProperty("window_ms").GetInt32().ShouldBe(150);
        var records = root.GetProperty("records").EnumerateArray().ToList();
        records.Select(r => r.GetProperty("record").GetString()).ShouldBe(["101", "106"]);
        records[0].GetProperty("reference_beats").GetInt64().ShouldBe(1865);
        foreach (var r in records)
        {
            var tp = r.GetProperty("tp").GetInt64();
            var fn = r.GetProperty("fn").GetInt64();
            (tp + fn).ShouldBe(r.GetProperty("reference_beats").GetInt64());
            r.GetProperty("se").GetDouble().ShouldBeInRange(99.0, 100.0);
            r.GetProperty("ppv").GetDouble().ShouldBeInRange(95.0, 100.0);
        }

        var gross = root.GetProperty("gross");
        gross.GetProperty("tp").GetInt64().ShouldBe(records.Sum(r => r.GetProperty("tp").GetInt64()));
        gross.GetProperty("fp").GetInt64().ShouldBe(records.Sum(r => r.GetProperty("fp").GetInt64()));
    }

    [Fact]
    public void Eval_qrs_writes_annotation_files_that_read_back()
    {
        using var dir = TestData.NewTempDir();
        var (code, stdout, _) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--write-annotations", dir.Path);
        code.ShouldBe(0);
        stdout.ShouldContain("Gross");
        var written = HeartTwin.Signals.Wfdb.AnnotationFile.Read(Path.Combine(dir.Path, "119.qrs"));
        written.Count.ShouldBeInRange(1980, 2000);
    }

    [Fact]
    public void Info_summarises_a_record()
    {
        var (code, stdout, _) = CliRunner.Run("info", "--db", TestData.MitDb, "--record", "201");
        code.ShouldBe(0);
        stdout.ShouldContain("360 Hz");
        stdout.ShouldContain("MLII");
        stdout.ShouldContain("beats: 1963");
        stdout.ShouldContain("AFIB");
    }

    [Fact]
    public void A_missing_database_or_record_gives_a_message_and_a_non_zero_exit()
    {
        var (code, _, stderr) = CliRunner.Run("eval", "qrs", "--db", "/nonexistent/db");
        code.ShouldBe(2);
        stderr.ShouldContain("not found");

        (code, _, stderr) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--records", "999");
        code.ShouldBe(2);
        stderr.ShouldContain("record '999' not found");

        (code, _, stderr) = CliRunner.Run("info", "--db", TestData.MitDb, "--record", "nope");
        code.ShouldBe(2);
        stderr.ShouldContain("nope.hea");
    }

    [Fact]
    public void A_corrupt_signal_file_gives_a_message_and_a_non_zero_exit()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".hea", ".dat", ".atr");
        File.WriteAllLines(Path.Combine(dir.Path, "RECORDS"), ["101"]);
        var dat = Path.Combine(dir.Path, "101.dat");
        File.WriteAllBytes(dat, File.ReadAllBytes(dat)[..1000]);
        var (code, _, stderr) = CliRunner.Run("eval", "qrs", "--db", dir.Path);
        code.ShouldBe(2);
        stderr.ShouldContain("truncated");
    }

    [Fact]
    public void A_garbage_annotation_file_gives_a_message_and_a_non_zero_exit()
    {
        using var dir = TestData.NewTempDir();
        dir.CopyRecord("101", ".hea", ".dat");
        File.WriteAllText(Path.Combine(dir.Path, "101.atr"), "not annotations\n");
        File.WriteAllLines(Path.Combine(dir.Path, "RECORDS"), ["101"]);
        var (code, _, stderr) = CliRunner.Run("eval", "qrs", "--db", dir.Path, "--format", "json");
        code.ShouldBe(2);
        stderr.ShouldContain("101.atr");
    }

    [Fact]
    public void An_unknown_format_option_is_a_usage_error()
    {
        var (code, _, _) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--format", "xml");
        code.ShouldNotBe(0);
    }
}
