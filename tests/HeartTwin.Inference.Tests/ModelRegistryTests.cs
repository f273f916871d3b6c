using System.Text.Json.Nodes;

namespace HeartTwin.Inference.Tests;

public sealed class ModelRegistryTests
{
    [Fact]
    public void Folder_with_one_card_makes_it_the_default()
    {
        using var dir = TestFiles.NewTempDir();
        dir.CopyTiny();
        using var registry = new ModelRegistry();

        var loaded = registry.LoadDirectory(dir.Path);

        loaded.Count.ShouldBe(1);
        registry.Models.Single().Id.ShouldBe("tiny-beat@0.1.0");
        registry.Default.ShouldBeSameAs(loaded[0]);
        registry.Get("tiny-beat").ShouldBeSameAs(loaded[0]);
        registry.Get("tiny-beat@0.1.0").ShouldBeSameAs(loaded[0]);
    }

    [Fact]
    public void Versions_live_side_by_side_and_a_bare_name_finds_the_highest()
    {
        using var dir = TestFiles.NewTempDir();
        WriteVersions(dir, "0.2.0", "0.10.0", "0.10.0-rc1", "0.9.1");
        using var registry = new ModelRegistry();

        registry.LoadDirectory(dir.Path);

        // Registered in card file-name order ("tiny-beat-0.10.0-rc1.json" sorts first).
        registry.Models.Select(m => m.Version).ShouldBe(["0.10.0-rc1", "0.10.0", "0.2.0", "0.9.1"]);
        registry.Get("tiny-beat").Version.ShouldBe("0.10.0");
        registry.Get("tiny-beat@0.9.1").Version.ShouldBe("0.9.1");
        registry.Get("tiny-beat@0.10.0-rc1").Version.ShouldBe("0.10.0-rc1");
        registry.Default.Version.ShouldBe("0.10.0-rc1");
    }

    [Fact]
    public void Configured_default_is_chosen_by_name_or_by_name_and_version()
    {
        using var dir = TestFiles.NewTempDir();
        WriteVersions(dir, "1.0.0", "2.0.0");
        using var registry = new ModelRegistry("tiny-beat@1.0.0");
        registry.LoadDirectory(dir.Path);

        registry.Default.Version.ShouldBe("1.0.0");
        registry.DefaultModel = "tiny-beat";
        registry.Default.Version.ShouldBe("2.0.0");
        registry.DefaultModel = null;
        registry.Default.Version.ShouldBe("1.0.0");
    }

    [Fact]
    public void Unknown_model_is_ModelNotFound_listing_those_loaded()
    {
        using var dir = TestFiles.NewTempDir();
        dir.CopyTiny();
        using var registry = new ModelRegistry("beat-cnn");
        registry.LoadDirectory(dir.Path);

        var e = Should.Throw<ModelNotFoundException>(() => registry.Get("beat-cnn@1.0.0"));
        e.Requested.ShouldBe("beat-cnn@1.0.0");
        e.Available.ShouldBe(["tiny-beat@0.1.0"]);
        e.Message.ShouldContain("loaded: tiny-beat@0.1.0");
        Should.Throw<ModelNotFoundException>(() => registry.Get("tiny-beat@9.9.9"));
        Should.Throw<ModelNotFoundException>(() => registry.Default).Message.ShouldContain("Inference:DefaultModel");
        registry.TryGet("tiny-beat@9.9.9", out var none).ShouldBeFalse();
        none.ShouldBeNull();
        registry.TryGet("tiny-beat", out var found).ShouldBeTrue();
        found!.Id.ShouldBe("tiny-beat@0.1.0");
    }

    [Fact]
    public void Empty_registry_has_no_default()
    {
        using var registry = new ModelRegistry();

        Should.Throw<ModelNotFoundException>(() => registry.Default).Message.ShouldContain("loaded: none");
    }

    [Fact]
    public void Missing_folder_loads_nothing()
    {
        using var registry = new ModelRegistry();

        registry.LoadDirectory(Path.Combine(Path.GetTempPath(), "absent-" + Guid.NewGuid().ToString("N"))).ShouldBeEmpty();
        registry.Models.ShouldBeEmpty();
    }

    [Fact]
    public void Explicit_registration_and_duplicates()
    {
        using var registry = new ModelRegistry();
        var model = registry.Register(TestFiles.TinyCard);

        registry.Default.ShouldBeSameAs(model);
        var e = Should.Throw<InvalidOperationException>(() => registry.Register(TestFiles.TinyCard));
        e.Message.ShouldContain("tiny-beat@0.1.0 is already registered");
        registry.Models.Count.ShouldBe(1);
    }

    [Fact]
    public void Folder_with_a_broken_beat_card_fails_loudly()
    {
        using var dir = TestFiles.NewTempDir();
        dir.CopyTiny();
        File.Copy(TestFiles.TinyCard, dir.File("zz-orphan.json"));
        var json = TestFiles.TinyCardJson();
        json["version"] = "0.3.0";
        json["onnx"] = "missing.onnx";
        dir.WriteCard(json, "zz-orphan.json");
        using var registry = new ModelRegistry();

        var e = Should.Throw<ModelLoadException>(() => registry.LoadDirectory(dir.Path));

        e.Failure.ShouldBe(ModelLoadFailure.OnnxNotFound);
        e.FilePath.ShouldBe(dir.File("missing.onnx"));
    }

    [Theory]
    [InlineData("{ \"some\": \"settings\" }")]
    [InlineData("not json")]
    public void Folder_with_a_json_file_that_is_not_a_card_fails_loudly(string text)
    {
        using var dir = TestFiles.NewTempDir();
        dir.CopyTiny();
        File.WriteAllText(dir.File("notes.json"), text);
        using var registry = new ModelRegistry();

        var e = Should.Throw<ModelLoadException>(() => registry.LoadDirectory(dir.Path));

        e.Failure.ShouldBe(ModelLoadFailure.CardInvalid);
        e.FilePath.ShouldBe(dir.File("notes.json"));
    }

    [Fact]
    public void Cards_of_other_tasks_are_left_to_their_own_loaders()
    {
        using var dir = TestFiles.NewTempDir();
        dir.CopyTiny();
        File.WriteAllText(dir.File("af.json"), "{ \"name\": \"af\", \"version\": \"1\", \"task\": \"af-detection\" }");
        using var registry = new ModelRegistry();

        registry.LoadDirectory(dir.Path);

        registry.Models.Select(m => m.Id).ShouldBe(["tiny-beat@0.1.0"]);
    }

    [Fact]
    public void Disposing_the_registry_disposes_its_models()
    {
        var registry = new ModelRegistry();
        var model = registry.Register(TestFiles.TinyCard);

        registry.Dispose();
        registry.Dispose();

        Should.Throw<ObjectDisposedException>(() => model.Classify(new float[256], new float[6], 1, new float[5]));
        registry.Models.ShouldBeEmpty();
        Should.Throw<ObjectDisposedException>(() => registry.Register(TestFiles.TinyCard));
        Should.Throw<ObjectDisposedException>(() => registry.Get("tiny-beat"));
        Should.Throw<ObjectDisposedException>(() => registry.Default);
    }

    [Fact]
    public void Concurrent_registrations_and_lookups_are_safe()
    {
        using var dir = TestFiles.NewTempDir();
        var versions = Enumerable.Range(1, 8).Select(v => $"1.{v}.0").ToArray();
        WriteVersions(dir, versions);
        using var registry = new ModelRegistry();
        var models = versions.Select(v => BeatClassifier.Load(dir.File($"tiny-beat-{v}.json"))).ToArray();

        Parallel.ForEach(models, new ParallelOptions { MaxDegreeOfParallelism = 4 }, m =>
        {
            registry.Register(m);
            registry.Get(m.Id).ShouldBeSameAs(m);
            registry.Get("tiny-beat").ShouldNotBeNull();
        });

        registry.Models.Count.ShouldBe(8);
        registry.Get("tiny-beat").Version.ShouldBe("1.8.0");
    }

    [Theory]
    [InlineData("1.0.0", "1.0.1", -1)]
    [InlineData("1.10.0", "1.9.0", 1)]
    [InlineData("2.0.0-rc1", "2.0.0", -1)]
    [InlineData("2.0.0-rc2", "2.0.0-rc1", 1)]
    [InlineData("1.0", "1.0.0", 0)]
    [InlineData("1.0.0+build5", "1.0.0", 0)]
    [InlineData("beta", "alpha", 1)]
    public void Versions_are_ordered_numerically(string x, string y, int sign)
    {
        Math.Sign(VersionComparer.Instance.Compare(x, y)).ShouldBe(sign);
    }

    private static void WriteVersions(TempDir dir, params string[] versions)
    {
        foreach (var version in versions)
        {
            JsonObject json = TestFiles.TinyCardJson();
            json["version"] = version;
            dir.WriteCard(json, $"tiny-beat-{version}.json");
        }
    }
}
