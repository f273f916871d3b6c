using System.Text.Json.Nodes;

namespace HeartTwin.Inference.Tests;

public sealed class ModelCardTests
{
    [Fact]
    public void Fixture_card_reads_every_snake_case_field()
    {
        var card = ModelCard.Load(TestFiles.TinyCard);

        card.Name.ShouldBe("tiny-beat");
        card.Version.ShouldBe("0.1.0");
        card.Id.ShouldBe("tiny-beat@0.1.0");
        card.Task.ShouldBe(ModelCard.BeatClassificationTask);
        card.Onnx.ShouldBe("tiny-beat.onnx");
        card.OnnxSha256.Length.ShouldBe(64);
        card.Input.SpecVersion.ShouldBe(1);
        card.Input.SampleRateHz.ShouldBe(180.0);
        card.Input.WindowSamples.ShouldBe(128);
        card.Input.WindowOffsetSamples.ShouldBe(-54);
        card.Input.Channels.ShouldBe(2);
        card.Input.RrFeatures.ShouldBe(["pre_rr_s", "post_rr_s", "local_rr_s", "pre_ratio", "post_ratio", "post_pre_ratio"]);
        card.Input.Filter!.BaselineHz.ShouldBe(0.5);
        card.Input.Filter.LowpassHz.ShouldBe(35.0);
        card.Input.Filter.MainsNotchHz.ShouldBeNull();
        card.Input.TensorNames.Beat.ShouldBe("beat");
        card.Input.TensorNames.Output.ShouldBe("probabilities");
        card.Labels.ShouldBe(["N", "S", "V", "F", "Q"]);
        card.Training!.Seed.ShouldBe(20261123);
        card.TestVectors.Count.ShouldBe(8);
        card.TestVectors[0].Beat.Length.ShouldBe(2);
        card.TestVectors[0].Beat[1].Length.ShouldBe(128);
        card.TestVectors[0].Rr.Length.ShouldBe(6);
        card.TestVectors[0].Probabilities.Sum().ShouldBe(1f, 1e-5f);
    }

    [Fact]
    public void Card_writes_the_contract_member_names_and_reads_back_the_same()
    {
        var card = ModelCard.Load(TestFiles.TinyCard);

        var json = card.ToJson();

        foreach (var member in new[] { "\"onnx_sha256\"", "\"spec_version\"", "\"sample_rate_hz\"", "\"window_samples\"", "\"window_offset_samples\"", "\"rr_features\"", "\"test_vectors\"", "\"mains_notch\"", "\"baseline_hz\"", "\"lowpass_hz\"" })
        {
            json.ShouldContain(member);
        }

        var again = ModelCard.Parse(json);
        again.OnnxSha256.ShouldBe(card.OnnxSha256);
        again.TestVectors[3].Beat[0].ShouldBe(card.TestVectors[3].Beat[0]);
    }

    [Fact]
    public void Cross_validation_block_of_the_contract_is_read()
    {
        var json = TestFiles.TinyCardJson();
        json["cross_validation"] = JsonNode.Parse("""
            { "scheme": "patient-wise k-fold on DS1", "folds": 5,
              "classes": { "N": { "tp": 10, "fn": 1, "fp": 2, "se": 0.9, "ppv": 0.8 } },
              "confusion": { "labels": ["N", "S", "V", "F", "Q"], "matrix": [[1, 2, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]] },
              "reproducibility_tolerance_pct": 0.5 }
            """);

        var card = ModelCard.Parse(TestFiles.ToJson(json));

        card.CrossValidation!.Folds.ShouldBe(5);
        card.CrossValidation.Classes!["N"].Se.ShouldBe(0.9);
        card.CrossValidation.Confusion!.Matrix![0][1].ShouldBe(2);
        card.CrossValidation.ReproducibilityTolerancePct.ShouldBe(0.5);
    }

    [Fact]
    public void Unknown_members_are_ignored_and_absent_tensor_names_take_the_contract_defaults()
    {
        var json = TestFiles.TinyCardJson();
        json["future_field"] = 42;
        json["input"]!.AsObject().Remove("tensors");

        var card = ModelCard.Parse(TestFiles.ToJson(json));

        card.Input.Tensors.ShouldBeNull();
        card.Input.TensorNames.Beat.ShouldBe("beat");
        card.Input.TensorNames.Rr.ShouldBe("rr");
        card.Input.TensorNames.Output.ShouldBe("probabilities");
    }

    [Fact]
    public void Missing_card_file_is_a_CardNotFound_naming_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N"), "beat.json");

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Load(path));

        e.Failure.ShouldBe(ModelLoadFailure.CardNotFound);
        e.FilePath.ShouldBe(path);
        e.Message.ShouldContain(path);
    }

    [Theory]
    [InlineData("this is not JSON")]
    [InlineData("[1, 2, 3]")]
    [InlineData("null")]
    [InlineData("{ \"name\": \"x\", ")]
    public void Text_that_is_not_a_card_object_is_CardInvalid(string text)
    {
        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(text, "bad.json"));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.FilePath.ShouldBe("bad.json");
    }

    [Theory]
    [InlineData("name")]
    [InlineData("version")]
    [InlineData("task")]
    [InlineData("onnx")]
    [InlineData("onnx_sha256")]
    [InlineData("input")]
    [InlineData("labels")]
    [InlineData("test_vectors")]
    [InlineData("input.sample_rate_hz")]
    [InlineData("input.window_samples")]
    [InlineData("input.window_offset_samples")]
    [InlineData("input.channels")]
    [InlineData("input.rr_features")]
    [InlineData("input.spec_version")]
    public void Card_without_a_required_field_is_CardInvalid_and_names_it(string field)
    {
        var json = TestFiles.TinyCardJson();
        var parts = field.Split('.');
        var owner = parts.Length == 1 ? json : json[parts[0]]!.AsObject();
        owner.Remove(parts[^1]).ShouldBeTrue();

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(json), "card.json"));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(parts[^1]);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("onnx_sha256")]
    [InlineData("input")]
    [InlineData("labels")]
    public void Card_with_a_required_field_null_is_CardInvalid(string field)
    {
        var json = TestFiles.TinyCardJson();
        json[field] = null;

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(json)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(field);
    }

    public static TheoryData<string, string, string> BadValues() => new()
    {
        { "name", "\"\"", "name" },
        { "name", "\"beat@cnn\"", "name" },
        { "version", "\"1 0\"", "version" },
        { "task", "\" \"", "task" },
        { "onnx", "\"../elsewhere/model.onnx\"", "onnx" },
        { "onnx_sha256", "\"abc\"", "onnx_sha256" },
        { "onnx_sha256", "\"zz" + new string('0', 62) + "\"", "onnx_sha256" },
        { "labels", "[]", "labels" },
        { "labels", "[\"N\", \"N\", \"V\", \"F\", \"Q\"]", "distinct" },
        { "labels", "[\"N\", \"\", \"V\", \"F\", \"Q\"]", "labels" },
        { "test_vectors", "[]", "test_vectors" },
        { "input.spec_version", "0", "spec_version" },
        { "input.sample_rate_hz", "-180", "sample_rate_hz" },
        { "input.window_samples", "0", "window_samples" },
        { "input.window_offset_samples", "3", "window_offset_samples" },
        { "input.window_offset_samples", "-128", "window_offset_samples" },
        { "input.channels", "0", "channels" },
        { "input.rr_features", "[]", "rr_features" },
        { "input.rr_features", "[\"a\", \"a\", \"b\", \"c\", \"d\", \"e\"]", "rr_features" },
        { "input.tensors", "{ \"beat\": \"x\", \"rr\": \"x\", \"output\": \"y\" }", "tensors" },
        { "input.window_samples", "\"128\"", "window_samples" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Card_with_an_out_of_range_value_is_CardInvalid_and_says_which(string field, string value, string expected)
    {
        var json = TestFiles.TinyCardJson();
        var parts = field.Split('.');
        var owner = parts.Length == 1 ? json : json[parts[0]]!.AsObject();
        owner[parts[^1]] = JsonNode.Parse(value);

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(json)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(expected);
    }

    [Theory]
    [InlineData("beat", "[[0.0, 1.0]]", "test_vectors[2].beat must be 2 rows of 128 samples")]
    [InlineData("rr", "[0.1, 0.2]", "test_vectors[2].rr must hold 6 values")]
    [InlineData("probabilities", "[1.0]", "test_vectors[2].probabilities must hold 5 values")]
    public void Test_vector_with_the_wrong_shape_is_CardInvalid(string member, string value, string expected)
    {
        var json = TestFiles.TinyCardJson();
        json["test_vectors"]![2]![member] = JsonNode.Parse(value);

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(json)));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain(expected);
    }

    [Fact]
    public void Every_problem_of_a_card_is_reported_at_once()
    {
        var json = TestFiles.TinyCardJson();
        json["labels"] = new JsonArray();
        json["input"]!["channels"] = 0;
        json["onnx_sha256"] = "nope";

        var e = Should.Throw<ModelLoadException>(() => ModelCard.Parse(TestFiles.ToJson(json)));

        e.Message.ShouldContain("labels");
        e.Message.ShouldContain("channels");
        e.Message.ShouldContain("onnx_sha256");
    }
}
