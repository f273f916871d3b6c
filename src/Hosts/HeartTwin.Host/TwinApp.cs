using HeartTwin.Acquisition;
using HeartTwin.Actuation;
using HeartTwin.Agent;
using HeartTwin.Connector;
using HeartTwin.Dashboard;
using HeartTwin.Inference;
using HeartTwin.Messaging;
using HeartTwin.Policy;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing;
using HeartTwin.Storage;

namespace HeartTwin.Host;

/// <summary>The composition root of the embedded twin: every block, in process, with embedded defaults.</summary>
public static class TwinApp
{
    /// <summary>Builds the host from command-line arguments (see README for the options).</summary>
    public static WebApplication Build(string[] args)
    {
        // The content root is the binary's folder, so appsettings.json, the models and the policy are found wherever the twin is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = HostArguments.Normalize(args), ContentRootPath = AppContext.BaseDirectory });
        builder.AddEmbeddedDefaults();
        builder.AddServiceDefaults();
        builder.Services.AddMessaging();
        builder.AddConnector();
        builder.AddAcquisition();
        builder.AddStorage();
        builder.AddInferenceBlock();
        builder.AddAgent();
        builder.AddPolicy();
        builder.AddActuation();
        builder.AddSharing();
        builder.AddDemo();
        builder.Services.AddHostedService<StartupBanner>();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapConnector();
        app.MapPolicy();
        app.MapActuation();
        app.MapSharing();
        app.MapDashboard();
        return app;
    }
}
