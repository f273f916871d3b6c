using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using HeartTwin.Signals.Tests.Cli;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HeartTwin.Signals.Tests.Simulation;

public class LoadCommandTests
{
    [Fact]
    public async Task Load_registers_streams_and_finds_every_acknowledged_sample_stored()
    {
        await using var twin = await LoadTwinDouble.StartAsync();
        var (code, stdout, stderr) = CliRunner.Run(
            "load", "--patients", "3", "--duration", "2.6", "--url", twin.Url, "--mqtt", $"127.0.0.1:{twin.MqttPort}", "--admin-token", "admin",
            "--db", TestData.MitDb, "--records", "101,106", "--format", "json");
        code.ShouldBe(0, stderr + stdout);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        twin.Registered.Keys.Order().ShouldBe(["load-0001", "load-0002", "load-0003"]);
        r.GetProperty("batches_acknowledged").GetInt64().ShouldBeGreaterThanOrEqualTo(3);
        long acked = r.GetProperty("samples_acknowledged").GetInt64();
        acked.ShouldBe(r.GetProperty("batches_acknowledged").GetInt64() * 720);
        r.GetProperty("samples_stored").GetInt64().ShouldBe(acked);
        r.GetProperty("samples_lost").GetInt64().ShouldBe(0);
        r.GetProperty("patients_in_real_time").GetInt32().ShouldBe(3);
        r.GetProperty("alerts").GetInt64().ShouldBe(3);
        r.GetProperty("alert_p50_ms").GetDouble().ShouldBe(1500, 40);
        // Sequences are strictly increasing per device, and each device streams its own slice of its record.
        foreach (var batches in twin.Batches.Values)
        {
            var sequences = batches.Select(b => b.Sequence).ToList();
            sequences.ShouldBe(Enumerable.Range(0, sequences.Count).Select(i => (long)i));
        }

        twin.Batches["load-0001"][0].Samples[0].ShouldNotBe(twin.Batches["load-0003"][0].Samples[0]);
    }

    [Fact]
    public async Task Load_exits_1_when_acknowledged_samples_are_missing_from_storage()
    {
        await using var twin = await LoadTwinDouble.StartAsync();
        twin.ForgetStored = true;
        var (code, stdout, _) = CliRunner.Run(
            "load", "--patients", "2", "--duration", "3", "--url", twin.Url, "--mqtt", $"127.0.0.1:{twin.MqttPort}", "--admin-token", "admin",
            "--db", TestData.MitDb, "--records", "101", "--stream-patients", "0");
        code.ShouldBe(1);
        stdout.ShouldContain("Samples lost");
        stdout.ShouldNotContain("Samples lost              0");
    }

    [Fact]
    public async Task Load_with_a_wrong_admin_token_stops_with_the_reason()
    {
        await using var twin = await LoadTwinDouble.StartAsync();
        var (code, _, stderr) = CliRunner.Run(
            "load", "--patients", "2", "--duration", "1", "--url", twin.Url, "--mqtt", $"127.0.0.1:{twin.MqttPort}", "--admin-token", "wrong",
            "--db", TestData.MitDb, "--records", "101");
        code.ShouldBe(1);
        stderr.ShouldContain("401");
    }

    /// <summary>The slice of the twin <c>load</c> talks to: device registration, the broker, ECG read-back and the SSE stream.</summary>
    private sealed class LoadTwinDouble : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly MqttServer _broker;

        private LoadTwinDouble(WebApplication app, MqttServer broker, int mqttPort)
        {
            _app = app;
            _broker = broker;
            MqttPort = mqttPort;
        }

        public string Url => _app.Urls.First();

        public int MqttPort { get; }

        public bool ForgetStored { get; set; }

        public ConcurrentDictionary<string, string> Registered { get; } = new();

        public ConcurrentDictionary<string, List<BinarySampleBatch.Batch>> Batches { get; } = new();

        public static async Task<LoadTwinDouble> StartAsync()
        {
            int port = WireDecoder.FreePort();
            var broker = new MqttServerFactory().CreateMqttServer(
                new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build());
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var twin = new LoadTwinDouble(app, broker, port);
            broker.ValidatingConnectionAsync += e =>
            {
                if (!twin.Registered.ContainsKey(e.UserName) || e.Password != $"pw-{e.UserName}")
                {
                    e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
                }

                return Task.CompletedTask;
            };
            broker.InterceptingPublishAsync += e =>
            {
                var parts = e.ApplicationMessage.Topic.Split('/');
                if (parts is ["hearttwin", "devices", var device, "samples"])
                {
                    var batch = WireDecoder.Decode(e.ApplicationMessage.Payload.ToArray());
                    var list = twin.Batches.GetOrAdd(device, _ => []);
                    lock (list)
                    {
                        list.Add(batch);
                    }
                }

                return Task.CompletedTask;
            };
            static bool Admin(HttpRequest r) => r.Headers.Authorization.ToString() == "Bearer admin";
            app.MapPost("/api/devices", (HttpRequest request, RegisterDeviceDto body) =>
            {
                if (!Admin(request))
                {
                    return Results.Problem(statusCode: 401, detail: "admin token required");
                }

                twin.Registered[body.DeviceId!] = body.PatientId!;
                return Results.Json(new DeviceCredentialsDto(body.DeviceId!, body.PatientId!, "tok", body.DeviceId!, $"pw-{body.DeviceId}"), WireDecoder.Json, statusCode: 201);
            });
            app.MapGet("/api/twins/{patient}/ecg", (string patient, DateTimeOffset from, DateTimeOffset to, HttpRequest request) =>
            {
                if (!Admin(request))
                {
                    return Results.Problem(statusCode: 401);
                }

                var device = twin.Registered.Single(p => p.Value == patient).Key;
                var batches = twin.ForgetStored ? [] : twin.Batches.GetValueOrDefault(device) ?? [];
                var segments = batches.Where(b => b.StartTime >= from && b.StartTime < to)
                    .Select(b => new { deviceId = device, sequence = b.Sequence, startTime = b.StartTime, samples = b.Samples });
                return Results.Json(new { segments });
            });
            app.MapGet("/api/twins/{patient}/stream", async (string patient, HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                var decided = """{"allowed":true,"decidedAt":"2026-01-01T00:00:01.5Z","proposal":{"patientId":"p","sourceReceivedAt":"2026-01-01T00:00:00Z"}}""";
                await context.Response.WriteAsync($"event: state\ndata: {{}}\n\nevent: action\ndata: {decided}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            });
            await broker.StartAsync();
            await app.StartAsync();
            return twin;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            await _broker.StopAsync(new MqttServerStopOptions());
            _broker.Dispose();
        }
    }
}
