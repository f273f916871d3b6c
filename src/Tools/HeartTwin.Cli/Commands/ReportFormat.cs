using System.Globalization;

namespace HeartTwin.Cli.Commands;

/// <summary>How the evaluation tables print their rates.</summary>
internal static class ReportFormat
{
    /// <summary>A percentage with two decimals, or "-" when it is undefined (no denominator), as bxb prints it.</summary>
    public static string Percent(double? value) => value is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";
}
