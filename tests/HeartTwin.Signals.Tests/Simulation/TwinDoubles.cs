using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HeartTwin.Signals.Tests.Simulation;

/// <summary>A batch as the twin double received it, decoded from either wire form, and when it arrived.</summary>
internal sealed record ReceivedBatch(BinarySampleBatch.Batch Batch, DateTimeOffset ArrivedAt);

internal static class WireDecoder
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static BinarySampleBatch.Batch Decode(byte[] payload)
    {
        if (BinarySampleBatch.IsBinary(payload))
        {
            BinarySampleBatch.TryDecode(payload, out var batch, out var error).ShouldBeTrue(error);
            return batch!;
        }

        var dto = JsonSerializer.Deserialize<SampleBatchDto>(payload, Json)!;
        return new BinarySampleBatch.Batch(
            dto.Sequence!.Value, dto.StartTime!.Value, dto.SampleRateHz!.Value,
            dto.Leads!.Select(l => new HeartTwin.Contracts.LeadInfo(l.Name!, l.Gain!.Value, l.Baseline!.Value, l.Units ?? "mV")).ToList(),
            dto.Samples!.Select(s => s.ToArray()).ToArray());
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// What the twin's MQTT side does, reduced to the device contract: an MQTTnet broker on a free loopback port that checks the
/// device's credentials, takes batches on hearttwin/devices/{id}/samples (PUBACK = stored), records command acks, and can drop
/// a connection before acknowledging a chosen sequence.
/// </summary>
internal sealed class MqttTwinDouble : IAsyncDisposable
{
    private readonly MqttServer _server;
    private readonly ConcurrentDictionary<long, int> _dropOnce = new();

    private MqttTwinDouble(MqttServer server, int port, string deviceId, string token)
    {
        _server = server;
        Port = port;
        DeviceId = deviceId;
        Token = token;
    }

    public int Port { get; }

    public string DeviceId { get; }

    public string Token { get; }

    /// <summary>Every batch publish that reached the broker, in arrival order (a dropped one included).</summary>
    public ConcurrentQueue<ReceivedBatch> Received { get; } = new();

    /// <summary>Batches stored (acknowledged), by sequence.</summary>
    public ConcurrentDictionary<long, ReceivedBatch> Stored { get; } = new();

    public ConcurrentQueue<AckDto> Acks { get; } = new();

    public int Connections;

    public static async Task<MqttTwinDouble> StartAsync(string deviceId = "dev-1", string token = "secret")
    {
        int port = WireDecoder.FreePort();
        var options = new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        var twin = new MqttTwinDouble(server, port, deviceId, token);
        server.ValidatingConnectionAsync += e =>
        {
            if (e.UserName != twin.DeviceId || e.Password != twin.Token || e.ClientId != twin.DeviceId)
            {
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            }
            else
            {
                Interlocked.Increment(ref twin.Connections);
            }

            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += twin.OnPublishAsync;
        await server.StartAsync();
        return twin;
    }

    /// <summary>The first time this sequence arrives, close the connection without acknowledging it.</summary>
    public void DropBeforeAck(long sequence) => _dropOnce[sequence] = 1;

    public Task SendCommandAsync(CommandDto command) =>
        _server.InjectApplicationMessage(
            new InjectedMqttApplicationMessage(
                new MqttApplicationMessageBuilder()
                    .WithTopic(DeviceTopics.Commands(DeviceId))
                    .WithPayload(JsonSerializer.SerializeToUtf8Bytes(command, WireDecoder.Json))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build())
            { SenderClientId = "twin" },
            CancellationToken.None);

    private Task OnPublishAsync(InterceptingPublishEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        if (topic == DeviceTopics.Samples(DeviceId))
        {
            var received = new ReceivedBatch(WireDecoder.Decode(payload), DateTimeOffset.UtcNow);
            Received.Enqueue(received);
            if (_dropOnce.TryRemove(received.Batch.Sequence, out _))
            {
                // Like a broker or Connector that dies before its commit: no PUBACK, connection gone.
                e.ProcessPublish = false;
                e.CloseConnection = true;
                return Task.CompletedTask;
            }

            Stored.TryAdd(received.Batch.Sequence, received);
        }
        else if (topic == DeviceTopics.Acks(DeviceId))
        {
            Acks.Enqueue(JsonSerializer.Deserialize<AckDto>(payload, WireDecoder.Json)!);
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync(new MqttServerStopOptions());
        _server.Dispose();
    }
}

/// <summary>
/// The twin's HTTP device endpoints on a real Kestrel at 127.0.0.1:0: samples (bearer token checked, optional 503s first),
/// the command pull endpoint and acks.
/// </summary>
internal sealed class HttpTwinDouble : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _unavailableLeft;

    private HttpTwinDouble(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public string DeviceId { get; private init; } = "";

    public string Token { get; private init; } = "";

    public ConcurrentQueue<ReceivedBatch> Received { get; } = new();

    public ConcurrentDictionary<long, ReceivedBatch> Stored { get; } = new();

    public ConcurrentQueue<CommandDto> PendingCommands { get; } = new();

    public ConcurrentQueue<AckDto> Acks { get; } = new();

    public ConcurrentQueue<string> ContentTypes { get; } = new();

    /// <summary>Answer the next N sample posts with 503 and Retry-After: 1.</summary>
    public void RespondUnavailable(int times) => _unavailableLeft = times;

    public static async Task<HttpTwinDouble> StartAsync(string deviceId = "dev-1", string token = "secret")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var twin = new HttpTwinDouble(app) { DeviceId = deviceId, Token = token };
        var devices = app.MapGroup("/api/devices/{id}");
        devices.MapPost("/samples", async (string id, HttpRequest request) =>
        {
            if (!twin.Authorized(id, request))
            {
                return Results.Problem(statusCode: 401, title: "Unauthorized", detail: "The device token is not valid for this device.");
            }

            if (Interlocked.Decrement(ref twin._unavailableLeft) >= 0)
            {
                request.HttpContext.Response.Headers.RetryAfter = "1";
                return Results.Problem(statusCode: 503, detail: "Busy, retry later.");
            }

            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            twin.ContentTypes.Enqueue(request.ContentType ?? "");
            var received = new ReceivedBatch(WireDecoder.Decode(body.ToArray()), DateTimeOffset.UtcNow);
            twin.Received.Enqueue(received);
            bool duplicate = !twin.Stored.TryAdd(received.Batch.Sequence, received);
            return Results.Json(new { sequence = received.Batch.Sequence, duplicate }, statusCode: 202);
        });
        devices.MapGet("/commands", (string id, HttpRequest request) =>
        {
            if (!twin.Authorized(id, request))
            {
                return Results.Problem(statusCode: 401);
            }

            var commands = new List<CommandDto>();
            while (twin.PendingCommands.TryDequeue(out var c))
            {
                commands.Add(c);
            }

            return Results.Json(commands);
        });
        devices.MapPost("/acks", (string id, HttpRequest request, AckDto ack) =>
        {
            if (!twin.Authorized(id, request))
            {
                return Results.Problem(statusCode: 401);
            }

            twin.Acks.Enqueue(ack);
            return Results.Accepted();
        });
        await app.StartAsync();
        twin.Url = app.Urls.First();
        return twin;
    }

    private bool Authorized(string id, HttpRequest request) =>
        id == DeviceId && request.Headers.Authorization.ToString() == $"Bearer {Token}";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
