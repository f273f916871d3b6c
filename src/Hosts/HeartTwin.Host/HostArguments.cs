namespace HeartTwin.Host;

/// <summary>
/// Maps the host's documented options onto configuration keys, so that every option is also settable from
/// appsettings.json or the environment (Kubernetes) under one name.
/// </summary>
internal static class HostArguments
{
    private static readonly Dictionary<string, string> ValueOptions = new(StringComparer.Ordinal)
    {
        ["--mqtt-port"] = "Connector:MqttPort",
        ["--data-dir"] = "HeartTwin:DataDirectory",
        ["--policy"] = "Policy:Path",
        ["--demo-speed"] = "Demo:Speed",
    };

    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["--demo"] = "Demo:Enabled",
    };

    /// <summary>Rewrites <c>--mqtt-port 1884</c> as <c>--Connector:MqttPort=1884</c> and <c>--demo</c> as <c>--Demo:Enabled=true</c>; anything else passes through.</summary>
    public static string[] Normalize(string[] args)
    {
        var result = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string name = arg.Split('=', 2)[0];
            if (Flags.TryGetValue(name, out var flagKey))
            {
                string value = arg.Contains('=', StringComparison.Ordinal) ? arg.Split('=', 2)[1] : "true";
                result.Add($"--{flagKey}={value}");
            }
            else if (ValueOptions.TryGetValue(name, out var key))
            {
                if (arg.Contains('=', StringComparison.Ordinal))
                {
                    result.Add($"--{key}={arg.Split('=', 2)[1]}");
                }
                else if (i + 1 < args.Length)
                {
                    result.Add($"--{key}={args[++i]}");
                }
                else
                {
                    throw new ArgumentException($"{name} needs a value.");
                }
            }
            else
            {
                result.Add(arg);
            }
        }

        return [.. result];
    }
}
