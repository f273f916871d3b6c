namespace HeartTwin.Host;

/// <summary>
/// The embedded composition's defaults: every block that keeps files keeps them under one data folder
/// (<c>HeartTwin:DataDirectory</c>, option <c>--data-dir</c>, default ./hearttwin-data), and the shipped models, policy and demo records are
/// found beside the binary. Values set explicitly (appsettings, environment, command line) win.
/// </summary>
internal static class EmbeddedDefaults
{
    public static WebApplicationBuilder AddEmbeddedDefaults(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        string dataDir = Path.GetFullPath(config["HeartTwin:DataDirectory"] is { Length: > 0 } d ? d : "hearttwin-data");
        Directory.CreateDirectory(dataDir);
        string here = AppContext.BaseDirectory;
        var defaults = new Dictionary<string, string?>(StringComparer.Ordinal);
        void Default(string key, string value)
        {
            if (string.IsNullOrEmpty(config[key]))
            {
                defaults[key] = value;
            }
        }

        Default("Storage:DataDirectory", dataDir);
        Default("Connector:DataDirectory", dataDir);
        Default("Sharing:DataDirectory", dataDir);
        Default("Inference:ModelsDirectory", Path.Combine(here, "models"));
        Default("Policy:Path", Path.Combine(here, "policy", "default.yaml"));
        Default("Demo:Database", Path.Combine(here, "demo", "mitdb"));
        config.AddInMemoryCollection(defaults);
        return builder;
    }
}
