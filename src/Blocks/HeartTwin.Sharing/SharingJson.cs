using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeartTwin.Sharing;

/// <summary>The JSON shape of everything Sharing sends: web defaults (camelCase), enums as strings.</summary>
internal static class SharingJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
