using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Simulation;

/// <summary>
/// A device on HTTP: <c>POST {url}/api/devices/{id}/samples</c> with its bearer token. A 2xx means durable. 503 and 429 are
/// retried after the server's Retry-After, other 5xx and connection errors with back-off; any other 4xx ends the stream with the
/// server's problem detail. Commands are pulled from <c>GET …/commands</c> and acknowledged with <c>POST …/acks</c>.
/// </summary>
internal sealed class HttpDeviceTransport : IDeviceTransport
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AckGrace = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly string _deviceId;
    private readonly bool _binary;
    private readonly TimeSpan _pollInterval;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private Task _pollLoop = Task.CompletedTask;

    public HttpDeviceTransport(Uri baseUrl, string deviceId, string token, bool binary, Action<string> log, TimeSpan? pollInterval = null)
    {
        _deviceId = deviceId;
        _binary = binary;
        _log = log;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public string Name => "http";

    private string DevicePath => $"api/devices/{Uri.EscapeDataString(_deviceId)}";

    public Task StartAsync(Func<CommandDto, AckDto> onCommand, CancellationToken cancellationToken)
    {
        _pollLoop = Task.Run(() => PollCommandsAsync(onCommand, _stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task<SendOutcome> SendAsync(SimulatedBatch batch, CancellationToken cancellationToken)
    {
        var body = _binary ? batch.ToBinary() : batch.ToJson();
        var contentType = _binary ? BinarySampleBatch.ContentType : "application/json";
        for (int attempt = 0; ; attempt++)
        {
            TimeSpan wait;
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
                using var response = await _http.PostAsync($"{DevicePath}/samples", content, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return new SendOutcome(attempt, await IsDuplicateAsync(response, cancellationToken).ConfigureAwait(false));
                }

                var status = (int)response.StatusCode;
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
                {
                    wait = RetryAfter(response) ?? DefaultRetryAfter;
                    _log($"{_deviceId}: batch {batch.Sequence}: {status} {response.ReasonPhrase}; retrying in {wait.TotalSeconds:0.###} s");
                }
                else if (status >= 500)
                {
                    wait = Backoff.Delay(attempt, InitialBackoff, MaxBackoff);
                    _log($"{_deviceId}: batch {batch.Sequence}: {status} {response.ReasonPhrase}; retrying");
                }
                else
                {
                    var detail = await ProblemDetailAsync(response, cancellationToken).ConfigureAwait(false);
                    throw new DeviceRejectedException(
                        $"The twin rejected batch {batch.Sequence} of device '{_deviceId}': {status} {response.ReasonPhrase}{(detail is null ? string.Empty : $": {detail}")}");
                }
            }
            catch (HttpRequestException e)
            {
                wait = Backoff.Delay(attempt, InitialBackoff, MaxBackoff);
                _log($"{_deviceId}: batch {batch.Sequence}: {e.Message}; retrying");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // HttpClient's own timeout: the batch may or may not have been stored; the same sequence again is safe.
                wait = Backoff.Delay(attempt, InitialBackoff, MaxBackoff);
                _log($"{_deviceId}: batch {batch.Sequence}: no answer in {_http.Timeout.TotalSeconds:0} s; retrying");
            }

            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Retry-After as delta seconds or an HTTP date, capped at a minute.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        TimeSpan? delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is null ? null : TimeSpan.FromTicks(Math.Clamp(delay.Value.Ticks, 0, TimeSpan.FromMinutes(1).Ticks));
    }

    private static async Task<bool> IsDuplicateAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("duplicate", out var d) && d.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    internal static async Task<string?> ProblemDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            foreach (var name in new[] { "detail", "title" })
            {
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
                {
                    return v.GetString();
                }
            }
        }
        catch (JsonException)
        {
            // Not ProblemDetails: show the start of the body as it is.
        }

        return text.Length > 200 ? text[..200] : text;
    }

    private async Task PollCommandsAsync(Func<CommandDto, AckDto> onCommand, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await _http.GetAsync($"{DevicePath}/commands", cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    foreach (var command in await ReadCommandsAsync(response, cancellationToken).ConfigureAwait(false))
                    {
                        if (cancellationToken.IsCancellationRequested)
                        {
                            // Not carried out, so not acknowledged: the twin offers every unacknowledged command again
                            // at the next pull.
                            break;
                        }

                        var ack = onCommand(command);
                        await AcknowledgeAsync(command, ack).ConfigureAwait(false);
                    }
                }
                else if (response.StatusCode != HttpStatusCode.NotFound)
                {
                    _log($"{_deviceId}: polling commands: {(int)response.StatusCode} {response.ReasonPhrase}");
                }

                await Task.Delay(_pollInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException)
            {
                // The stream's own retries report connection trouble; polling just tries again.
                await Task.Delay(_pollInterval, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Acknowledges a command the device has carried out. The ack has its own time limit instead of the stop token: a
    /// device that stops while acknowledging still reports what it did, or the twin would wait for an ack that never comes.
    /// </summary>
    private async Task AcknowledgeAsync(CommandDto command, AckDto ack)
    {
        using var ackTimeout = new CancellationTokenSource(AckGrace);
        try
        {
            using var response = await _http.PostAsJsonAsync($"{DevicePath}/acks", ack, SimulatedBatch.Json, ackTimeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                _log($"{_deviceId}: acknowledging command {command.CommandId} failed: {(int)response.StatusCode} {await ProblemDetailAsync(response, ackTimeout.Token).ConfigureAwait(false)}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // The twin keeps offering the command until it is acknowledged, so the device will see it again.
            _log($"{_deviceId}: acknowledging command {command.CommandId} failed: {(e is TaskCanceledException ? $"no answer in {AckGrace.TotalSeconds:0} s" : e.Message)}");
        }
    }

    /// <summary>The pull endpoint's answer: a JSON array of commands, or an object with a "commands" array.</summary>
    private static async Task<IReadOnlyList<CommandDto>> ReadCommandsAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        using var doc = JsonDocument.Parse(text);
        var array = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement
            : doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("commands", out var c) ? c
            : default;
        return array.ValueKind == JsonValueKind.Array ? array.Deserialize<List<CommandDto>>(SimulatedBatch.Json) ?? [] : [];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pollLoop.ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
    }
}
