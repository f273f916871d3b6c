using System.Globalization;
using System.Text.Json.Serialization;

namespace HeartTwin.Cli.Commands;

/// <summary>
/// What every <c>eval</c> report says about how its records were read (<see cref="RecordReader"/>): absent from the JSON
/// when they were read as recorded, so the documented shapes stay as they are.
/// </summary>
internal abstract record ReadReport
{
    /// <summary>The rate every record was resampled to (<c>--resample</c>); absent when each was read at its own.</summary>
    [JsonPropertyName("resampled_hz")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ResampledHz { get; init; }

    /// <summary>True when every lead was read inverted (<c>--invert-leads</c>); absent otherwise.</summary>
    [JsonPropertyName("inverted_leads")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? InvertedLeads { get; init; }

    /// <summary>" resampled to R Hz, leads inverted" for a table's title, as far as the records were changed.</summary>
    [JsonIgnore]
    public string Reading =>
        (ResampledHz is { } r ? string.Create(CultureInfo.InvariantCulture, $" resampled to {r:0.###} Hz") : string.Empty)
        + (InvertedLeads == true ? ", leads inverted" : string.Empty);
}
