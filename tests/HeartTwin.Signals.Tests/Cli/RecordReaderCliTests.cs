using System.Text.Json;
using HeartTwin.Cli.Commands;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Cli;

/// <summary>
/// <c>--resample</c>: the evaluators read a database as a device at another rate would have recorded it;
/// <c>--reference</c>: from the annotator that holds the database's reference.
/// </summary>
public class RecordReaderCliTests
{
    private static string ShippedModelPath => Path.Combine(TestData.RepoRoot, "models", "beat-cnn.onnx");

    private static JsonElement Json(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        code.ShouldBe(0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public void The_reader_scales_the_signals_and_the_reference_to_the_new_rate()
    {
        var database = WfdbDatabase.Open(TestData.MitDb);
        var native = new RecordReader(database);
        var reader = new RecordReader(database, new ReadSettings(ResampleHz: 128));

        var signals = reader.ReadSignals("119");
        signals.SampleRateHz.ShouldBe(128);
        signals.Length.ShouldBe(231112); // ⌈650,000 · 128 / 360⌉
        signals.Leads.ShouldAllBe(l => l.Length == 231112);
        reader.SampleRateHz("119").ShouldBe(128);
        native.SampleRateHz("119").ShouldBe(360);

        var original = native.ReadAnnotations("119");
        var scaled = reader.ReadAnnotations("119");
        scaled.Count.ShouldBe(original.Count);
        for (var i = 0; i < original.Count; i++)
        {
            scaled[i].Sample.ShouldBe((long)Math.Round(original[i].Sample * 128 / 360.0));
            scaled[i].Code.ShouldBe(original[i].Code);
            scaled[i].Aux.ShouldBe(original[i].Aux);
        }

        // The waveform keeps its place in time: ten seconds of the 128 Hz lead follow the 360 Hz lead read at the same instants.
        var at360 = native.ReadSignals("119").Leads[0];
        var at128 = signals.Leads[0];
        var a = new double[1280];
        var b = new double[1280];
        for (var k = 0; k < a.Length; k++)
        {
            a[k] = at128[1280 + k];
            b[k] = at360[(int)Math.Round((1280 + k) * 360 / 128.0)];
        }

        Correlation(a, b).ShouldBeGreaterThan(0.98);
    }

    private static double Correlation(double[] a, double[] b)
    {
        var ma = a.Average();
        var mb = b.Average();
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }

        return ab / Math.Sqrt(aa * bb);
    }

    [Fact]
    public void Eval_qrs_at_128_Hz_scores_the_same_reference_beats_and_says_so()
    {
        using var dir = TestData.NewTempDir();
        var root = Json("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--resample", "128", "--format", "json", "--write-annotations", dir.Path);
        root.GetProperty("resampled_hz").GetDouble().ShouldBe(128);
        var row = root.GetProperty("records")[0];
        row.GetProperty("reference_beats").GetInt64().ShouldBe(1987);
        row.GetProperty("se").GetDouble().ShouldBeGreaterThan(99.5);
        row.GetProperty("ppv").GetDouble().ShouldBeGreaterThan(99.5);

        // The detections are samples of the 128 Hz copy, not of the 360 Hz record.
        var written = AnnotationFile.Read(Path.Combine(dir.Path, "119.qrs"));
        written[^1].Sample.ShouldBeLessThan(231112);
        written[^1].Sample.ShouldBeGreaterThan(230000);

        var (code, table, stderr) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--resample", "128");
        code.ShouldBe(0, stderr);
        table.ShouldStartWith("QRS detection on mitdb resampled to 128 Hz,");

        // Without the option the JSON keeps its documented keys.
        Json("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--format", "json").TryGetProperty("resampled_hz", out _).ShouldBeFalse();
    }

    [Fact]
    public void Eval_beats_at_250_Hz_classifies_as_at_360_Hz()
    {
        var native = Json("eval", "beats", "--db", TestData.MitDb, "--records", "119", "--model", ShippedModelPath, "--format", "json");
        var resampled = Json("eval", "beats", "--db", TestData.MitDb, "--records", "119", "--model", ShippedModelPath, "--format", "json", "--resample", "250");
        resampled.GetProperty("resampled_hz").GetDouble().ShouldBe(250);
        long Tp(JsonElement r, string c) => r.GetProperty("classes").GetProperty(c).GetProperty("tp").GetInt64();

        // 119: 444 PVCs in bigeminy among 1,543 normal beats. The model reads windows at its own 180 Hz whatever the input rate.
        Tp(resampled, "V").ShouldBeGreaterThan(430);
        Math.Abs(Tp(resampled, "V") - Tp(native, "V")).ShouldBeLessThanOrEqualTo(5);
        Math.Abs(Tp(resampled, "N") - Tp(native, "N")).ShouldBeLessThanOrEqualTo(15);
        resampled.GetProperty("accuracy").GetDouble().ShouldBeGreaterThan(99);
    }

    [Fact]
    public void Eval_af_at_128_Hz_times_the_reference_rhythm_alike()
    {
        // The reference beats and rhythm, scaled to 128 Hz, give the RR-only AF detector the same intervals within 8 ms.
        var native = Json("eval", "af", "--db", TestData.MitDb, "--records", "201", "--beats", "reference", "--ectopy", "none", "--format", "json");
        var resampled = Json("eval", "af", "--db", TestData.MitDb, "--records", "201", "--beats", "reference", "--ectopy", "none", "--format", "json", "--resample", "128");
        resampled.GetProperty("resampled_hz").GetDouble().ShouldBe(128);
        var row = resampled.GetProperty("records")[0];
        row.GetProperty("af_beats").GetInt64().ShouldBe(native.GetProperty("records")[0].GetProperty("af_beats").GetInt64());
        resampled.GetProperty("se").GetDouble().ShouldBe(native.GetProperty("se").GetDouble(), 1.0);
        resampled.GetProperty("sp").GetDouble().ShouldBe(native.GetProperty("sp").GetDouble(), 1.0);
    }

    [Fact]
    public void A_rate_that_is_not_a_number_is_a_usage_error()
    {
        var (code, _, stderr) = CliRunner.Run("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--resample", "fast");
        code.ShouldNotBe(0);
        stderr.ShouldContain("fast");
    }

    [Fact]
    public void The_reference_can_come_from_another_annotator_as_in_the_AF_database()
    {
        // The MIT-BIH AF Database keeps its beats in R.qrs and only rhythm in R.atr; here 119's reference is copied to 119.qrs.
        using var dir = TestData.NewTempDir();
        foreach (var ext in new[] { "hea", "dat" })
        {
            File.Copy(Path.Combine(TestData.MitDb, "119." + ext), Path.Combine(dir.Path, "119." + ext));
        }

        File.Copy(Path.Combine(TestData.MitDb, "119.atr"), Path.Combine(dir.Path, "119.qrs"));
        File.WriteAllText(Path.Combine(dir.Path, "RECORDS"), "119\n");

        var fromQrs = Json("eval", "qrs", "--db", dir.Path, "--reference", "qrs", "--format", "json");
        var fromAtr = Json("eval", "qrs", "--db", TestData.MitDb, "--records", "119", "--format", "json");
        fromQrs.GetProperty("gross").GetRawText().ShouldBe(fromAtr.GetProperty("gross").GetRawText());
        Json("eval", "beats", "--db", dir.Path, "--reference", "qrs", "--model", ShippedModelPath, "--format", "json", "--resample", "250")
            .GetProperty("classes").GetProperty("V").GetProperty("tp").GetInt64().ShouldBeGreaterThan(430);

        // Without it the evaluator looks for 119.atr and says that it is missing.
        var (code, stdout, stderr) = CliRunner.Run("eval", "qrs", "--db", dir.Path);
        code.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.ShouldContain("119.atr");
    }

    [Fact]
    public void Inverted_leads_leave_the_detector_and_the_shipped_beat_model_alone()
    {
        // The detector squares slopes, so polarity is nothing to it. The shipped beat model reads spec v3 windows, which
        // turn each stream so that its dominant QRS points up, so an inverted lead is classified beat for beat as the
        // upright one (a spec v2 model such as 2.4.1 lost a third or more of 223's PVCs on the inverted lead).
        var qrs = Json("eval", "qrs", "--db", TestData.MitDb, "--records", "223", "--format", "json");
        var qrsInverted = Json("eval", "qrs", "--db", TestData.MitDb, "--records", "223", "--format", "json", "--invert-leads");
        qrsInverted.GetProperty("inverted_leads").GetBoolean().ShouldBeTrue();
        qrsInverted.GetProperty("gross").GetRawText().ShouldBe(qrs.GetProperty("gross").GetRawText());
        qrs.TryGetProperty("inverted_leads", out _).ShouldBeFalse();

        var beats = Json("eval", "beats", "--db", TestData.MitDb, "--records", "223", "--model", ShippedModelPath, "--format", "json");
        var beatsInverted = Json("eval", "beats", "--db", TestData.MitDb, "--records", "223", "--model", ShippedModelPath, "--format", "json", "--invert-leads");
        beats.GetProperty("classes").GetProperty("V").GetProperty("tp").GetInt64().ShouldBeGreaterThan(400); // of 473
        beatsInverted.GetProperty("classes").GetRawText().ShouldBe(beats.GetProperty("classes").GetRawText());
        beatsInverted.GetProperty("confusion").GetRawText().ShouldBe(beats.GetProperty("confusion").GetRawText());

        var (code, table, stderr) = CliRunner.Run("eval", "beats", "--db", TestData.MitDb, "--records", "223", "--model", ShippedModelPath, "--invert-leads", "--resample", "250");
        code.ShouldBe(0, stderr);
        table.ShouldStartWith("Beat classes on the detected beats resampled to 250 Hz, leads inverted, model beat-cnn@");
    }

    [Theory]
    [InlineData("--resample", "10", "--resample must be a rate from 50 to 2000 Hz")]
    [InlineData("--resample", "5000", "--resample must be a rate from 50 to 2000 Hz")]
    [InlineData("--resample", "0", "--resample must be a rate from 50 to 2000 Hz")]
    [InlineData("--reference", "../atr", "--reference must be an annotator name")]
    [InlineData("--reference", "a/b", "--reference must be an annotator name")]
    [InlineData("--reference", "", "--reference must be an annotator name")]
    public void A_rate_the_detector_cannot_take_or_a_reference_that_is_not_an_annotator_name_is_refused(string option, string value, string message)
    {
        foreach (var verb in new[] { "qrs", "beats", "af" })
        {
            var (code, stdout, stderr) = CliRunner.Run("eval", verb, "--db", TestData.MitDb, "--records", "119", option, value);
            code.ShouldNotBe(0);
            stdout.ShouldBeEmpty();
            stderr.ShouldContain(message);
        }
    }
}
