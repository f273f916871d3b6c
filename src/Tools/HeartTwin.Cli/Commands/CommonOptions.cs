using System.CommandLine;

namespace HeartTwin.Cli.Commands;

/// <summary>The options that every database command spells the same way.</summary>
internal static class CommonOptions
{
    public static Option<string> Database() =>
        new("--db") { Description = "Database folder (WFDB) with a RECORDS file and .atr reference annotations.", Required = true };

    public static Option<string?> Records(string verb = "evaluate") =>
        new("--records") { Description = $"Comma-separated records to {verb}; default: every record in RECORDS." };

    public static Option<string> Format()
    {
        var format = new Option<string>("--format") { Description = "Output format: table or json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        return format;
    }

    /// <summary>Prints a report as one JSON object (<c>--format json</c>) or as the command's table.</summary>
    public static int WriteReport<T>(string? format, T report, System.Text.Json.JsonSerializerOptions json, Action<T, TextWriter> table, TextWriter stdout)
    {
        if (format == "json")
        {
            stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, json));
        }
        else
        {
            table(report, stdout);
        }

        return 0;
    }
}
