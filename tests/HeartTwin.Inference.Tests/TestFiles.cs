using System.Text.Json;
using System.Text.Json.Nodes;
using HeartTwin.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeartTwin.Inference.Tests;

/// <summary>The committed fixtures, the repository's models folder, and temporary folders.</summary>
internal static class TestFiles
{
    private static readonly Lazy<string> Root = new(LocateRepositoryRoot);

    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>The tiny model with the contract's tensors (make_fixture.py).</summary>
    public static string TinyCard => Path.Combine(FixturesDirectory, "tiny-beat.json");

    /// <summary>The tiny model for spec version 2: 4 channels, 9 RR features (make_fixture.py).</summary>
    public static string TinyV2Card => Path.Combine(FixturesDirectory, "tiny-beat-v2.json");

    /// <summary>A model built for a 96-sample window and 4 RR features whose card declares 128 and 6.</summary>
    public static string WrongDimsCard => Path.Combine(FixturesDirectory, "wrong-dims.json");

    /// <summary>The repository root: the folder that holds HeartTwin.slnx.</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>The repository's shipped models.</summary>
    public static string ModelsDirectory => Path.Combine(RepositoryRoot, "models");

    public static TempDir NewTempDir() => new();

    /// <summary>A started host with the messaging bus and the Inference block, serving the models of <paramref name="modelsDirectory"/>.</summary>
    public static async Task<IHost> StartInferenceAsync(string modelsDirectory)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = RepositoryRoot });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Inference:ModelsDirectory"] = modelsDirectory });
        builder.Services.AddMessaging();
        builder.AddInferenceBlock();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The fixture card as a mutable JSON tree.</summary>
    public static JsonObject TinyCardJson() => JsonNode.Parse(File.ReadAllText(TinyCard))!.AsObject();

    public static string ToJson(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static string LocateRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HeartTwin.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"The repository root (the folder with HeartTwin.slnx) was not found above {AppContext.BaseDirectory}.");
    }
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hearttwin-inference-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Copies the tiny fixture's card and ONNX file here; returns the card's path.</summary>
    public string CopyTiny(string cardName = "tiny-beat.json")
    {
        System.IO.File.Copy(System.IO.Path.Combine(TestFiles.FixturesDirectory, "tiny-beat.onnx"), File("tiny-beat.onnx"), overwrite: true);
        var card = File(cardName);
        System.IO.File.Copy(TestFiles.TinyCard, card, overwrite: true);
        return card;
    }

    /// <summary>Copies the tiny spec v2 fixture's card and ONNX file here; returns the card's path.</summary>
    public string CopyTinyV2()
    {
        System.IO.File.Copy(System.IO.Path.Combine(TestFiles.FixturesDirectory, "tiny-beat-v2.onnx"), File("tiny-beat-v2.onnx"), overwrite: true);
        var card = File("tiny-beat-v2.json");
        System.IO.File.Copy(TestFiles.TinyV2Card, card, overwrite: true);
        return card;
    }

    /// <summary>Writes a card (mutated from the fixture's) here, with the fixture's ONNX file beside it; returns the card's path.</summary>
    public string WriteCard(JsonObject card, string cardName = "tiny-beat.json")
    {
        var onnx = File("tiny-beat.onnx");
        if (!System.IO.File.Exists(onnx))
        {
            System.IO.File.Copy(System.IO.Path.Combine(TestFiles.FixturesDirectory, "tiny-beat.onnx"), onnx);
        }

        var path = File(cardName);
        System.IO.File.WriteAllText(path, TestFiles.ToJson(card));
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }
}
