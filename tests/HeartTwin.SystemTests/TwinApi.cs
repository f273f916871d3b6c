using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.SystemTests;

/// <summary>A beat as the twin's API returns it.</summary>
public sealed record TwinBeat(DateTimeOffset Time, string Class, double RrMs);

/// <summary>A stored batch as the twin's API returns it.</summary>
public sealed record TwinSegment(long Sequence, DateTimeOffset StartTime, int[][] Samples);

/// <summary>The same few calls of the public API, against either twin (gateway or embedded host).</summary>
public static class TwinApi
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    public static async Task<DeviceCredentialsDto> RegisterAsync(HttpClient admin, string device, string patient)
    {
        using var response = await admin.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = device, PatientId = patient, Kind = "system-ecg" }, Json);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<DeviceCredentialsDto>(Json))!;
    }

    public static async Task<JsonElement> GetJsonAsync(HttpClient admin, string path)
    {
        using var response = await admin.GetAsync(new Uri(path, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"GET {path}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Every stored batch of a patient between two times, in the order Storage returns them.</summary>
    public static async Task<List<TwinSegment>> SegmentsAsync(HttpClient admin, string patient, DateTimeOffset from, DateTimeOffset to)
    {
        var json = await GetJsonAsync(admin, $"/api/twins/{patient}/ecg?from={Iso(from)}&to={Iso(to)}");
        return json.GetProperty("segments").EnumerateArray().Select(s => new TwinSegment(
            s.GetProperty("sequence").GetInt64(),
            s.GetProperty("startTime").GetDateTimeOffset(),
            s.GetProperty("samples").EnumerateArray().Select(lead => lead.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray())).ToList();
    }

    public static async Task<List<TwinBeat>> BeatsAsync(HttpClient admin, string patient, DateTimeOffset from, DateTimeOffset to)
    {
        var json = await GetJsonAsync(admin, $"/api/twins/{patient}/beats?from={Iso(from)}&to={Iso(to)}&limit=100000");
        return json.GetProperty("items").EnumerateArray().Select(b => new TwinBeat(
            b.GetProperty("time").GetDateTimeOffset(),
            b.GetProperty("class").GetString()!,
            b.TryGetProperty("rrMs", out var rr) && rr.ValueKind == JsonValueKind.Number ? rr.GetDouble() : 0)).OrderBy(b => b.Time).ToList();
    }

    /// <summary>The event type and signal time of every event the Agent proposed for a patient.</summary>
    public static async Task<List<(string Type, DateTimeOffset At)>> EventsAsync(HttpClient admin, string patient, DateTimeOffset from, DateTimeOffset to)
    {
        var json = await GetJsonAsync(admin, $"/api/twins/{patient}/events?from={Iso(from)}&to={Iso(to)}");
        return json.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("proposal")).Select(p =>
            (p.GetProperty("eventType").GetString()!, p.GetProperty("occurredAt").GetDateTimeOffset())).OrderBy(e => e.Item2).ToList();
    }

    /// <summary>The twin's state once it covers the signal up to <paramref name="end"/> (less one analysis span), or null.</summary>
    public static async Task<JsonElement?> StateCoveringAsync(HttpClient admin, string patient, DateTimeOffset end)
    {
        var s = await GetJsonAsync(admin, $"/api/twins/{patient}");
        var st = s.TryGetProperty("state", out var inner) ? inner : s;
        return st.ValueKind == JsonValueKind.Object && st.TryGetProperty("signalTime", out var t) && t.ValueKind == JsonValueKind.String
            && t.GetDateTimeOffset() >= end.AddSeconds(-3) && st.GetProperty("heartRateBpm").ValueKind == JsonValueKind.Number ? st : null;
    }

    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : struct
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
    }
}
