using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace HeartTwin.Inference.Tests;

public sealed class BeatClassifierLoadTests
{
    [Fact]
    public void Fixture_loads_by_its_card_with_the_contract_signature()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard);

        model.Id.ShouldBe("tiny-beat@0.1.0");
        model.Name.ShouldBe("tiny-beat");
        model.Version.ShouldBe("0.1.0");
        model.Channels.ShouldBe(2);
        model.WindowSamples.ShouldBe(128);
        model.BeatLength.ShouldBe(256);
        model.RrFeatureCount.ShouldBe(6);
        model.ClassCount.ShouldBe(5);
        model.Labels.ShouldBe(["N", "S", "V", "F", "Q"]);
        model.MaxBatch.ShouldBe(512);
        model.IntraOpThreads.ShouldBe(1);
        model.OnnxPath.ShouldBe(Path.Combine(TestFiles.FixturesDirectory, "tiny-beat.onnx"));
        Path.IsPathRooted(model.CardPath).ShouldBeTrue();
    }

    [Fact]
    public void Options_are_applied()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard, new BeatClassifierOptions { IntraOpThreads = 2, MaxBatch = 7 });

        model.IntraOpThreads.ShouldBe(2);
        model.MaxBatch.ShouldBe(7);
    }

    [Theory]
    [InlineData(0, 512)]
    [InlineData(1, 0)]
    public void Invalid_options_are_refused(int threads, int maxBatch)
    {
        Should.Throw<ArgumentOutOfRangeException>(() =>
            BeatClassifier.Load(TestFiles.TinyCard, new BeatClassifierOptions { IntraOpThreads = threads, MaxBatch = maxBatch }));
    }

    [Fact]
    public void Missing_card_is_CardNotFound()
    {
        using var dir = TestFiles.NewTempDir();

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.File("absent.json")));

        e.Failure.ShouldBe(ModelLoadFailure.CardNotFound);
        e.FilePath.ShouldBe(dir.File("absent.json"));
    }

    [Fact]
    public void Invalid_card_is_CardInvalid()
    {
        using var dir = TestFiles.NewTempDir();
        File.WriteAllText(dir.File("beat.json"), "{ \"name\": \"beat\" }");

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.File("beat.json")));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.Message.ShouldContain("beat.json");
    }

    [Fact]
    public void Card_without_its_onnx_file_beside_it_is_OnnxNotFound_naming_the_onnx_path()
    {
        using var dir = TestFiles.NewTempDir();
        File.Copy(TestFiles.TinyCard, dir.File("tiny-beat.json"));

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.File("tiny-beat.json")));

        e.Failure.ShouldBe(ModelLoadFailure.OnnxNotFound);
        e.FilePath.ShouldBe(dir.File("tiny-beat.onnx"));
    }

    [Fact]
    public void Onnx_file_that_differs_from_the_card_hash_is_Sha256Mismatch()
    {
        using var dir = TestFiles.NewTempDir();
        var card = dir.CopyTiny();
        var bytes = File.ReadAllBytes(dir.File("tiny-beat.onnx"));
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(dir.File("tiny-beat.onnx"), bytes);

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(card));

        e.Failure.ShouldBe(ModelLoadFailure.Sha256Mismatch);
        e.Message.ShouldContain(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        e.Message.ShouldContain(ModelCard.Load(TestFiles.TinyCard).OnnxSha256);
    }

    [Fact]
    public void Garbage_onnx_file_whose_hash_matches_the_card_is_OnnxInvalid()
    {
        using var dir = TestFiles.NewTempDir();
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(dir.File("tiny-beat.onnx"), garbage);
        var json = TestFiles.TinyCardJson();
        json["onnx_sha256"] = Convert.ToHexStringLower(SHA256.HashData(garbage));
        File.WriteAllText(dir.File("tiny-beat.json"), TestFiles.ToJson(json));

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.File("tiny-beat.json")));

        e.Failure.ShouldBe(ModelLoadFailure.OnnxInvalid);
        e.FilePath.ShouldBe(dir.File("tiny-beat.onnx"));
        e.InnerException.ShouldNotBeNull();
    }

    [Fact]
    public void Model_whose_dimensions_differ_from_its_card_is_SignatureMismatch_naming_both_shapes()
    {
        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(TestFiles.WrongDimsCard));

        e.Failure.ShouldBe(ModelLoadFailure.SignatureMismatch);
        e.Message.ShouldContain("input 'beat' has shape [batch, 2, 96]; the card implies [batch, 2, 128]");
        e.Message.ShouldContain("input 'rr' has shape [batch, 4]; the card implies [batch, 6]");
    }

    [Fact]
    public void Card_with_more_labels_than_the_model_outputs_is_SignatureMismatch()
    {
        using var dir = TestFiles.NewTempDir();
        var json = TestFiles.TinyCardJson();
        json["labels"] = new JsonArray("N", "S", "V", "F", "Q", "X");
        foreach (var v in json["test_vectors"]!.AsArray())
        {
            v!["probabilities"]!.AsArray().Add(0.0);
        }

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.WriteCard(json)));

        e.Failure.ShouldBe(ModelLoadFailure.SignatureMismatch);
        e.Message.ShouldContain("output 'probabilities' has shape [batch, 5]; the card implies [batch, 6]");
    }

    [Fact]
    public void Card_naming_a_tensor_the_model_lacks_is_SignatureMismatch()
    {
        using var dir = TestFiles.NewTempDir();
        var json = TestFiles.TinyCardJson();
        json["input"]!["tensors"]!["beat"] = "window";

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.WriteCard(json)));

        e.Failure.ShouldBe(ModelLoadFailure.SignatureMismatch);
        e.Message.ShouldContain("the model has no input 'window'");
        e.Message.ShouldContain("the model has an input 'beat' that the card does not declare");
    }

    [Fact]
    public void Card_of_another_task_is_UnsupportedTask()
    {
        using var dir = TestFiles.NewTempDir();
        var json = TestFiles.TinyCardJson();
        json["task"] = "af-detection";

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(dir.WriteCard(json)));

        e.Failure.ShouldBe(ModelLoadFailure.UnsupportedTask);
        e.Message.ShouldContain("af-detection");
    }

    [Fact]
    public void Model_that_does_not_reproduce_its_test_vectors_is_refused_unless_verification_is_off()
    {
        using var dir = TestFiles.NewTempDir();
        var json = TestFiles.TinyCardJson();
        var p = json["test_vectors"]![5]!["probabilities"]!.AsArray();
        p[0] = p[0]!.GetValue<double>() + 0.01;
        var card = dir.WriteCard(json);

        var e = Should.Throw<ModelLoadException>(() => BeatClassifier.Load(card));

        e.Failure.ShouldBe(ModelLoadFailure.TestVectorMismatch);
        e.Message.ShouldContain("0.01");
        using var unchecked_ = BeatClassifier.Load(card, new BeatClassifierOptions { VerifyTestVectors = false });
        unchecked_.MaxTestVectorError().ShouldBe(0.01f, 1e-4f);
    }

    [Fact]
    public void Caller_spec_version_1_matches_the_fixture()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard);

        Should.NotThrow(() => model.EnsureCompatible(BeatInputSpec.Version1));
        Should.NotThrow(() => model.EnsureCompatible(BeatInputSpec.Version1 with { RrFeatures = null }));
    }

    [Fact]
    public void Caller_spec_that_differs_is_refused_with_every_difference()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard);
        var spec = new BeatInputSpec(SpecVersion: 2, SampleRateHz: 360, WindowSamples: 256, WindowOffsetSamples: -100, Channels: 1)
        {
            RrFeatures = ["pre_rr_s", "post_rr_s"],
        };

        var e = Should.Throw<ModelSpecMismatchException>(() => model.EnsureCompatible(spec));

        e.ModelId.ShouldBe("tiny-beat@0.1.0");
        e.Differences.Count.ShouldBe(6);
        e.Message.ShouldContain("spec version 2 differs from the model's 1");
        e.Message.ShouldContain("sample rate 360 Hz differs from the model's 180 Hz");
        e.Message.ShouldContain("window of 256 samples differs from the model's 128");
        e.Message.ShouldContain("window offset -100 samples differs from the model's -54");
        e.Message.ShouldContain("1 channels differ from the model's 2");
        e.Message.ShouldContain("RR features [pre_rr_s, post_rr_s] differ");
    }

    [Theory]
    [InlineData(250.0, 128, 2)]
    [InlineData(180.0, 127, 2)]
    [InlineData(180.0, 128, 1)]
    public void Caller_spec_with_one_difference_is_refused(double rate, int window, int channels)
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard);

        var e = Should.Throw<ModelSpecMismatchException>(() =>
            model.EnsureCompatible(BeatInputSpec.Version1 with { SampleRateHz = rate, WindowSamples = window, Channels = channels }));

        e.Differences.Count.ShouldBe(1);
    }
}
