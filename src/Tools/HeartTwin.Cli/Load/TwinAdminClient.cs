using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using HeartTwin.Cli.Simulation;
using HeartTwin.Simulation;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Cli.Load;

/// <summary>The twin's REST API as the load tool uses it, with the admin token: register devices, read samples back, follow alerts.</summary>
internal sealed class TwinAdminClient : IDisposable
{
    private readonly HttpClient _http;

    public TwinAdminClient(Uri baseUrl, string adminToken)
    {
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    /// <summary>Registers a device for a patient and returns its credentials.</summary>
    /// <exception cref="DeviceRejectedException">The twin refused (bad admin token, device already registered …).</exception>
    public async Task<DeviceCredentialsDto> RegisterAsync(string deviceId, string patientId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var response = await _http.PostAsJsonAsync(
            "api/devices", new RegisterDeviceDto { DeviceId = deviceId, PatientId = patientId, Kind = "load-simulator" }, SimulatedBatch.Json, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var detail = await HttpDeviceTransport.ProblemDetailAsync(response, cancellationToken).ConfigureAwait(false);
            throw new DeviceRejectedException($"Registering device '{deviceId}' failed: {(int)response.StatusCode} {response.ReasonPhrase}{(detail is null ? string.Empty : $": {detail}")}");
        }

        return await response.Content.ReadFromJsonAsync<DeviceCredentialsDto>(SimulatedBatch.Json, cancellationToken).ConfigureAwait(false)
            ?? throw new DeviceRejectedException($"Registering device '{deviceId}' returned no credentials.");
    }

    /// <summary>Counts the samples (all leads) stored for a patient in [from, to).</summary>
    public async Task<long> CountStoredSamplesAsync(string patientId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var url = string.Create(CultureInfo.InvariantCulture,
            $"api/twins/{Uri.EscapeDataString(patientId)}/ecg?from={Uri.EscapeDataString(from.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var response = await _http.GetAsync(url, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var detail = await HttpDeviceTransport.ProblemDetailAsync(response, cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException($"GET {url}: {(int)response.StatusCode} {response.ReasonPhrase}{(detail is null ? string.Empty : $": {detail}")}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        using var doc = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token).ConfigureAwait(false);
        return CountSamples(doc.RootElement);
    }

    /// <summary>
    /// Counts the integers in every "samples" array of arrays (one array per lead) anywhere in the answer, so that both
    /// <c>{"segments":[{"samples":[[…],[…]]}]}</c> and <c>{"samples":[[…]]}</c> count.
    /// </summary>
    internal static long CountSamples(JsonElement element)
    {
        long total = 0;
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals("samples") && property.Value.ValueKind == JsonValueKind.Array
                        && property.Value.EnumerateArray().All(lead => lead.ValueKind == JsonValueKind.Array))
                    {
                        total += property.Value.EnumerateArray().Sum(lead => (long)lead.GetArrayLength());
                    }
                    else
                    {
                        total += CountSamples(property.Value);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    total += CountSamples(item);
                }

                break;
        }

        return total;
    }

    /// <summary>Follows a patient's SSE stream and yields each event's name and data until cancelled or the stream ends.</summary>
    public async IAsyncEnumerable<(string Event, string Data)> StreamAsync(string patientId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/twins/{Uri.EscapeDataString(patientId)}/stream?categories=events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in SseReader.ReadAsync(body, cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A minimal Server-Sent Events reader: "event:" and "data:" fields, events ended by a blank line.</summary>
internal static class SseReader
{
    public static async IAsyncEnumerable<(string Event, string Data)> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream);
        string name = "message";
        var data = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    yield return (name, data.ToString());
                }

                name = "message";
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].TrimStart();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0)
                {
                    data.Append('\n');
                }

                data.Append(line.AsSpan(5).TrimStart(' '));
            }
        }
    }

    /// <summary>Arrival-to-alert latency of an <c>action</c> event: <c>decidedAt</c> − <c>proposal.sourceReceivedAt</c>.</summary>
    public static bool TryAlertLatency(string data, out TimeSpan latency)
    {
        latency = default;
        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("decidedAt", out var decided) && decided.TryGetDateTimeOffset(out var decidedAt)
                && root.TryGetProperty("proposal", out var proposal) && proposal.ValueKind == JsonValueKind.Object
                && proposal.TryGetProperty("sourceReceivedAt", out var source) && source.TryGetDateTimeOffset(out var receivedAt))
            {
                latency = decidedAt - receivedAt;
                return true;
            }
        }
        catch (JsonException)
        {
            // Not an ActionDecided: not an alert we can time.
        }

        return false;
    }
}
