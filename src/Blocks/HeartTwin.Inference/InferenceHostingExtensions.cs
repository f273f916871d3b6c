using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Inference;

/// <summary>Adds the Inference block to a host.</summary>
public static class InferenceHostingExtensions
{
    /// <summary>
    /// Registers <see cref="InferenceOptions"/> (section "Inference", validated at start) and the <see cref="ModelRegistry"/>
    /// singleton, which loads the models folder when it is first resolved and is disposed with the host.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(sp => new ModelRegistry(
            sp.GetRequiredService<IOptions<InferenceOptions>>(),
            sp.GetService<IHostEnvironment>(),
            sp.GetService<ILogger<ModelRegistry>>()));
        return builder;
    }

    /// <summary>
    /// Adds the Inference block as a bus participant: everything <see cref="AddInference"/> registers, and the
    /// <see cref="ClassifyBeatsHandler"/> that answers <see cref="ClassifyBeatsRequest"/>. The host adds the bus itself
    /// (<c>services.AddMessaging()</c>).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHostApplicationBuilder AddInferenceBlock(this IHostApplicationBuilder builder)
    {
        builder.AddInference();
        builder.Services.AddRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult, ClassifyBeatsHandler>();
        return builder;
    }
}
