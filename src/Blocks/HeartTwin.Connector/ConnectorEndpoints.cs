using System.Buffers;
using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace HeartTwin.Connector;

/// <summary>A device as the admin API shows it.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PatientId">Its patient.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="CreatedAt">UTC registration time.</param>
/// <param name="Connected">Whether it holds an MQTT connection or sent over HTTP within Connector:HttpSilenceSeconds.</param>
/// <param name="LastSequence">The last accepted sequence, or null before the first batch.</param>
/// <param name="LastSeenAt">UTC time of its last batch since this process started.</param>
/// <param name="Gaps">Sequence gaps detected.</param>
/// <param name="Rejected">Messages rejected since start.</param>
/// <param name="Duplicates">Duplicates acknowledged since start.</param>
/// <param name="BatteryPercent">Battery level, if the device reported one.</param>
/// <param name="PendingCommands">Commands not yet acknowledged.</param>
public sealed record DeviceStatusDto(
    string DeviceId, string PatientId, string Kind, DateTimeOffset CreatedAt, bool Connected, long? LastSequence, DateTimeOffset? LastSeenAt,
    long Gaps, long Rejected, long Duplicates, double? BatteryPercent, int PendingCommands);

/// <summary>The Connector's HTTP endpoints.</summary>
internal static class ConnectorEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/devices").WithTags("Devices").RequireAuthorization(HeartTwinAuthentication.AdminPolicy);
        admin.MapPost("/", RegisterAsync).WithName("RegisterDevice").WithSummary("Registers a device, binds it to a patient and returns its credentials (shown once).");
        admin.MapGet("/", List).WithName("ListDevices").WithSummary("Every registered device with its status.");
        admin.MapGet("/{deviceId}", Get).WithName("GetDevice").WithSummary("One device's status.");

        // Devices authenticate with their own bearer token, checked here, not by the people's bearer scheme.
        var device = app.MapGroup("/api/devices/{deviceId}").WithTags("Device ingestion").AllowAnonymous();
        device.MapPost("/samples", IngestAsync).WithName("PostSamples")
            .WithSummary("A batch of samples and/or observations. 200 only once it is stored.")
            // No Accepts(): its content-type constraint would answer 415 before this endpoint could explain it in a problem.
            .WithDescription($"Body: a SampleBatchDto as application/json (camelCase), or the binary form as {BinarySampleBatch.ContentType}.")
            .Produces<IngestResultDto>()
            .ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(409).ProducesProblem(413)
            .ProducesProblem(415).ProducesProblem(422).ProducesProblem(503);
        device.MapGet("/commands", PullCommands).WithName("PullCommands").WithSummary("Commands not yet acknowledged.");
        device.MapPost("/acks", AcknowledgeAsync).WithName("AcknowledgeCommand").WithSummary("Acknowledges a command.");
    }

    private static async Task<Results<Created<DeviceCredentialsDto>, ProblemHttpResult>> RegisterAsync(
        RegisterDeviceDto? body, bool? rotate, DeviceRegistry registry, IngestionService ingestion, TimeProvider time)
    {
        if (body?.DeviceId is not { } deviceId || !BatchValidator.IdPattern().IsMatch(deviceId)
            || body.PatientId is not { } patientId || !BatchValidator.IdPattern().IsMatch(patientId))
        {
            return Problem(Rejection.Of(ErrorCodes.Malformed, 400, $"'deviceId' and 'patientId' are required: 1–64 letters, digits, '-', '_' or '.'."));
        }

        string kind = string.IsNullOrWhiteSpace(body.Kind) ? "device" : body.Kind.Trim();
        if (kind.Length > 64)
        {
            return Problem(Rejection.Of(ErrorCodes.Malformed, 400, $"'kind' has at most 64 characters."));
        }

        if (registry.Find(deviceId) is { } existing && existing.PatientId != patientId)
        {
            return Problem(Rejection.Of(ErrorCodes.DeviceExists, 409,
                $"Device '{deviceId}' is bound to another patient; a device is never rebound (register a new device id)."));
        }

        var now = time.GetUtcNow();
        if (registry.Register(deviceId, patientId, kind, rotate == true, now) is not var (state, token, password))
        {
            return Problem(Rejection.Of(ErrorCodes.DeviceExists, 409, $"Device '{deviceId}' is already registered; POST with ?rotate=true to issue new credentials."));
        }

        await ingestion.PublishQuietlyAsync(new DeviceRegistered(deviceId, patientId, kind, now)).ConfigureAwait(false);
        return TypedResults.Created($"/api/devices/{deviceId}", new DeviceCredentialsDto(deviceId, state.PatientId, token, deviceId, password));
    }

    private static Ok<DeviceStatusDto[]> List(DeviceRegistry registry, PendingCommands pending, IOptions<ConnectorOptions> options, TimeProvider time) =>
        TypedResults.Ok(registry.All.Select(d => Status(d, pending, options.Value, time)).ToArray());

    private static Results<Ok<DeviceStatusDto>, ProblemHttpResult> Get(string deviceId, DeviceRegistry registry, PendingCommands pending, IOptions<ConnectorOptions> options, TimeProvider time) =>
        registry.Find(deviceId) is { } device
            ? TypedResults.Ok(Status(device, pending, options.Value, time))
            : Problem(Rejection.Of(ErrorCodes.UnknownDevice, 404, $"No device '{deviceId}' is registered."));

    private static DeviceStatusDto Status(DeviceState d, PendingCommands pending, ConnectorOptions options, TimeProvider time)
    {
        bool recentHttp = d.LastSeenAt is { } seen && time.GetUtcNow() - seen <= TimeSpan.FromSeconds(options.HttpSilenceSeconds);
        return new DeviceStatusDto(d.DeviceId, d.PatientId, d.Kind, d.CreatedAt, d.MqttConnections > 0 || recentHttp, d.LastSequence, d.LastSeenAt,
            d.Gaps, d.Rejected, d.Duplicates, d.BatteryPercent, pending.Count(d.DeviceId));
    }

    private static async Task<Results<Ok<IngestResultDto>, ProblemHttpResult>> IngestAsync(
        string deviceId, HttpContext http, DeviceRegistry registry, IngestionService ingestion, IOptions<ConnectorOptions> options)
    {
        var cancel = http.RequestAborted;
        if (registry.Authenticate(deviceId, BearerToken(http.Request), out var device) is { } denied)
        {
            ingestion.CountRejected(null, denied, Transports.Http);
            return Problem(denied);
        }

        var (batch, bad) = await ReadBatchAsync(http.Request, options.Value.MaxBatchBytes, cancel).ConfigureAwait(false);
        if (bad is not null)
        {
            ingestion.CountRejected(device, bad, Transports.Http);
            return Problem(bad);
        }

        var (result, rejection) = await ingestion.IngestAsync(device!, batch!, Transports.Http, cancel).ConfigureAwait(false);
        if (rejection is not null)
        {
            if (rejection.Code == ErrorCodes.Overloaded)
            {
                http.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            return Problem(rejection);
        }

        return TypedResults.Ok(result);
    }

    private static async Task<(IncomingBatch? Batch, Rejection? Rejection)> ReadBatchAsync(HttpRequest request, int maxBytes, CancellationToken cancel)
    {
        bool binary;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Value is { } media)
        {
            binary = media.Equals(BinarySampleBatch.ContentType, StringComparison.OrdinalIgnoreCase);
            bool json = media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
            if (!binary && !json)
            {
                return (null, Rejection.Of(ErrorCodes.UnsupportedMediaType, 415, $"Send application/json or {BinarySampleBatch.ContentType}; got {media}."));
            }
        }
        else
        {
            return (null, Rejection.Of(ErrorCodes.UnsupportedMediaType, 415, $"A Content-Type is required: application/json or {BinarySampleBatch.ContentType}."));
        }

        var tooLarge = Rejection.Of(ErrorCodes.PayloadTooLarge, 413, $"The body is larger than {maxBytes} bytes (Connector:MaxBatchBytes).");
        if (request.ContentLength > maxBytes)
        {
            return (null, tooLarge);
        }

        var body = await ReadLimitedAsync(request.Body, maxBytes, cancel).ConfigureAwait(false);
        if (body is null)
        {
            return (null, tooLarge);
        }

        var span = body.Value.Span;
        IncomingBatch? batch;
        var bad = binary ? BatchValidator.DecodeBinary(span, out batch) : BatchValidator.DecodeJson(span, out batch);
        return (batch, bad);
    }

    /// <summary>The whole body, or null when it exceeds <paramref name="maxBytes"/> (read no further than that).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadLimitedAsync(Stream body, int maxBytes, CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static Results<Ok<IReadOnlyList<CommandDto>>, ProblemHttpResult> PullCommands(
        string deviceId, HttpContext http, DeviceRegistry registry, PendingCommands pending, IngestionService ingestion)
    {
        if (registry.Authenticate(deviceId, BearerToken(http.Request), out var device) is { } denied)
        {
            ingestion.CountRejected(null, denied, Transports.Http);
            return Problem(denied);
        }

        return TypedResults.Ok(pending.For(device!.DeviceId));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> AcknowledgeAsync(
        string deviceId, HttpContext http, DeviceRegistry registry, AckService acks, IngestionService ingestion, IOptions<ConnectorOptions> options)
    {
        if (registry.Authenticate(deviceId, BearerToken(http.Request), out var device) is { } denied)
        {
            ingestion.CountRejected(null, denied, Transports.Http);
            return Problem(denied);
        }

        AckDto? ack;
        try
        {
            ack = await http.Request.ReadFromJsonAsync<AckDto>(BatchValidator.Json, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            var bad = Rejection.Of(ErrorCodes.Malformed, 400, $"The body must be a JSON acknowledgement (application/json).");
            ingestion.CountRejected(device, bad, Transports.Http);
            return Problem(bad);
        }

        if (await acks.AcknowledgeAsync(device!, ack, Transports.Http, http.RequestAborted).ConfigureAwait(false) is { } rejection)
        {
            if (rejection.Code == ErrorCodes.Overloaded)
            {
                http.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            return Problem(rejection);
        }

        return TypedResults.NoContent();
    }

    private static string? BearerToken(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        return header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private static ProblemHttpResult Problem(Rejection rejection) => TypedResults.Problem(rejection.ToProblem());
}
