using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeartTwin.Inference.Tests;

public sealed class HostingTests
{
    [Fact]
    public void Options_have_the_documented_defaults()
    {
        using var host = Build(new Dictionary<string, string?>());

        var options = host.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;

        options.ModelsDirectory.ShouldBe("models");
        options.DefaultModel.ShouldBeNull();
        options.IntraOpThreads.ShouldBe(1);
        options.MaxBatch.ShouldBe(512);
    }

    [Fact]
    public async Task Registry_loads_the_configured_folder_relative_to_the_content_root()
    {
        using var root = TestFiles.NewTempDir();
        var models = Directory.CreateDirectory(Path.Combine(root.Path, "served"));
        File.Copy(TestFiles.TinyCard, Path.Combine(models.FullName, "tiny-beat.json"));
        File.Copy(Path.Combine(TestFiles.FixturesDirectory, "tiny-beat.onnx"), Path.Combine(models.FullName, "tiny-beat.onnx"));
        using var host = Build(new()
        {
            ["Inference:ModelsDirectory"] = "served",
            ["Inference:DefaultModel"] = "tiny-beat@0.1.0",
            ["Inference:IntraOpThreads"] = "2",
            ["Inference:MaxBatch"] = "64",
        }, root.Path);
        await host.StartAsync();

        var registry = host.Services.GetRequiredService<ModelRegistry>();

        registry.ShouldBeSameAs(host.Services.GetRequiredService<ModelRegistry>());
        registry.Default.Id.ShouldBe("tiny-beat@0.1.0");
        registry.Default.IntraOpThreads.ShouldBe(2);
        registry.Default.MaxBatch.ShouldBe(64);
        var model = registry.Default;
        await host.StopAsync();
        host.Dispose();
        Should.Throw<ObjectDisposedException>(() => model.Classify(new float[256], new float[6], 1, new float[5]));
    }

    [Theory]
    [InlineData("Inference:MaxBatch", "0")]
    [InlineData("Inference:IntraOpThreads", "0")]
    [InlineData("Inference:ModelsDirectory", "")]
    [InlineData("Inference:DefaultModel", "two words")]
    public async Task Invalid_options_stop_the_host_at_start(string key, string value)
    {
        using var host = Build(new() { [key] = value });

        var e = await Should.ThrowAsync<OptionsValidationException>(() => host.StartAsync());

        e.Message.ShouldContain(key.Split(':')[1]);
    }

    [Fact]
    public void Configured_default_that_is_not_loaded_is_reported_when_the_registry_is_built()
    {
        using var root = TestFiles.NewTempDir();
        using var host = Build(new() { ["Inference:DefaultModel"] = "beat-cnn" }, root.Path);

        Should.Throw<ModelNotFoundException>(() => host.Services.GetRequiredService<ModelRegistry>())
            .Message.ShouldContain("Inference:DefaultModel");
    }

    private static IHost Build(Dictionary<string, string?> settings, string? contentRoot = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = contentRoot ?? AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddInference();
        return builder.Build();
    }
}
