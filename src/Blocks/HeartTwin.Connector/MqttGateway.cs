using System.Buffers;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HeartTwin.Connector;

/// <summary>
/// The embedded broker's rules: who may connect (device id and password), what each device may publish (its own
/// <c>samples</c> and <c>acks</c>) and subscribe to (its own <c>commands</c> and <c>errors</c>), and the ingestion of
/// samples. MQTTnet sends the PUBACK of a QoS 1 publish only after <see cref="OnPublishAsync"/> returns, and that awaits
/// the bus: a device that got its PUBACK knows the batch is stored.
/// </summary>
internal sealed partial class MqttGateway(
    MqttServer server,
    DeviceRegistry registry,
    IngestionService ingestion,
    AckService acks,
    ConnectorStats stats,
    IOptions<ConnectorOptions> options,
    TimeProvider time,
    ILogger<MqttGateway> logger) : IHostedService
{
    /// <summary>The client id the Connector's own messages (commands, errors) are sent under.</summary>
    public const string ServerClientId = "hearttwin-connector";

    private readonly ConnectorOptions options = options.Value;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        server.ValidatingConnectionAsync += OnValidatingConnectionAsync;
        server.ClientConnectedAsync += OnConnectedAsync;
        server.ClientDisconnectedAsync += OnDisconnectedAsync;
        server.InterceptingSubscriptionAsync += OnSubscribingAsync;
        server.InterceptingPublishAsync += OnPublishAsync;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        server.ValidatingConnectionAsync -= OnValidatingConnectionAsync;
        server.ClientConnectedAsync -= OnConnectedAsync;
        server.ClientDisconnectedAsync -= OnDisconnectedAsync;
        server.InterceptingSubscriptionAsync -= OnSubscribingAsync;
        server.InterceptingPublishAsync -= OnPublishAsync;
        return Task.CompletedTask;
    }

    /// <summary>Sends a JSON message to a device topic at QoS 1.</summary>
    public async Task SendAsync<T>(string topic, T body, CancellationToken cancellationToken)
    {
        if (options.MqttPort == 0 || !server.IsStarted)
        {
            return;
        }

        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(body, BatchValidator.Json))
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = ServerClientId }, cancellationToken)
            .ConfigureAwait(false);
    }

    private Task OnValidatingConnectionAsync(ValidatingConnectionEventArgs args)
    {
        var device = registry.AuthenticateMqtt(args.UserName, args.Password);
        if (device is null)
        {
            stats.CountRejected(ErrorCodes.Unauthorized, Transports.Mqtt);
            LogRefused(args.UserName, "bad username or password");
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            return Task.CompletedTask;
        }

        if (string.IsNullOrEmpty(args.ClientId))
        {
            args.AssignedClientIdentifier = $"{device.DeviceId}-{Guid.NewGuid():N}";
        }
        else if (args.ClientId != device.DeviceId && !args.ClientId.StartsWith(device.DeviceId + "-", StringComparison.Ordinal))
        {
            // A client id is a session: letting device A use B's id would let it take over B's session.
            LogRefused(args.UserName, "client id must be the device id or start with '<device id>-'");
            args.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
        }

        return Task.CompletedTask;
    }

    private Task OnConnectedAsync(ClientConnectedEventArgs args) => ConnectionChanged(args.UserName, true);

    private Task OnDisconnectedAsync(ClientDisconnectedEventArgs args) => ConnectionChanged(args.UserName, false);

    private Task ConnectionChanged(string? deviceId, bool connected)
    {
        if (deviceId is null || registry.Find(deviceId) is not { } device)
        {
            return Task.CompletedTask;
        }

        int open = connected ? device.MqttConnected() : device.MqttDisconnected();
        // Report the device's state, not each socket's: a reconnect that takes over a session is no disconnect.
        if ((connected && open == 1) || (!connected && open == 0))
        {
            _ = ingestion.PublishQuietlyAsync(new DeviceConnectionChanged(device.DeviceId, device.PatientId, connected, time.GetUtcNow(), Transports.Mqtt));
        }

        return Task.CompletedTask;
    }

    private Task OnSubscribingAsync(InterceptingSubscriptionEventArgs args)
    {
        string topic = args.TopicFilter.Topic;
        string? deviceId = args.UserName;
        if (args.ClientId == ServerClientId
            || (deviceId is not null && (topic == DeviceTopics.Commands(deviceId) || topic == DeviceTopics.Errors(deviceId))))
        {
            return Task.CompletedTask;
        }

        stats.CountRejected(ErrorCodes.Forbidden, Transports.Mqtt);
        args.ProcessSubscription = false;
        args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        return Task.CompletedTask;
    }

    private async Task OnPublishAsync(InterceptingPublishEventArgs args)
    {
        if (args.ClientId == ServerClientId)
        {
            return;
        }

        var message = args.ApplicationMessage;
        var device = args.UserName is { } user ? registry.Find(user) : null;
        if (device is null)
        {
            args.ProcessPublish = false;
            return;
        }

        if (message.Topic == DeviceTopics.Samples(device.DeviceId))
        {
            await OnSamplesAsync(args, device).ConfigureAwait(false);
        }
        else if (message.Topic == DeviceTopics.Acks(device.DeviceId))
        {
            await OnAckAsync(args, device).ConfigureAwait(false);
        }
        else
        {
            await RejectAsync(args, device, null, new Rejection(ErrorCodes.Forbidden, 403,
                $"A device may publish only to {DeviceTopics.Samples(device.DeviceId)} and {DeviceTopics.Acks(device.DeviceId)}."), MqttPubAckReasonCode.NotAuthorized)
                .ConfigureAwait(false);
        }
    }

    private async Task OnSamplesAsync(InterceptingPublishEventArgs args, DeviceState device)
    {
        var payload = args.ApplicationMessage.Payload;
        if (payload.Length > options.MaxBatchBytes)
        {
            await RejectAsync(args, device, null, Rejection.Of(ErrorCodes.PayloadTooLarge, 413,
                $"The payload has {payload.Length} bytes; at most {options.MaxBatchBytes}."), MqttPubAckReasonCode.QuotaExceeded).ConfigureAwait(false);
            return;
        }

        byte[] bytes = payload.ToArray();
        var decodeError = BatchValidator.Decode(bytes, out var batch);
        if (decodeError is not null)
        {
            await RejectAsync(args, device, null, decodeError, MqttPubAckReasonCode.PayloadFormatInvalid).ConfigureAwait(false);
            return;
        }

        var (result, rejection) = await ingestion.IngestAsync(device, batch!, Transports.Mqtt, args.CancellationToken).ConfigureAwait(false);
        if (rejection?.Code == ErrorCodes.Overloaded)
        {
            // No PUBACK: the connection closes and the device sends the batch again once it reconnects.
            args.ProcessPublish = false;
            args.CloseConnection = true;
        }
        else if (rejection is not null)
        {
            // Counted by the ingestion already.
            await ReportAsync(args, device, batch!.Sequence, rejection).ConfigureAwait(false);
        }
        else if (result!.Status == IngestionService.Duplicate)
        {
            args.ProcessPublish = false;
        }
    }

    private async Task OnAckAsync(InterceptingPublishEventArgs args, DeviceState device)
    {
        AckDto? ack;
        try
        {
            ack = JsonSerializer.Deserialize<AckDto>(args.ApplicationMessage.Payload.ToArray(), BatchValidator.Json);
        }
        catch (JsonException)
        {
            await RejectAsync(args, device, null, new Rejection(ErrorCodes.Malformed, 400, "The acknowledgement is not valid JSON."), MqttPubAckReasonCode.PayloadFormatInvalid)
                .ConfigureAwait(false);
            return;
        }

        var rejection = await acks.AcknowledgeAsync(device, ack, Transports.Mqtt, args.CancellationToken).ConfigureAwait(false);
        if (rejection?.Code == ErrorCodes.Overloaded)
        {
            args.ProcessPublish = false;
            args.CloseConnection = true;
        }
        else if (rejection is not null)
        {
            await ReportAsync(args, device, null, rejection).ConfigureAwait(false);
        }
    }

    private async Task RejectAsync(InterceptingPublishEventArgs args, DeviceState device, long? sequence, Rejection rejection, MqttPubAckReasonCode reason)
    {
        ingestion.CountRejected(device, rejection, Transports.Mqtt);
        args.Response.ReasonCode = reason;
        await ReportAsync(args, device, sequence, rejection).ConfigureAwait(false);
    }

    /// <summary>Drops the message (subscribers never see it) and tells the device why on its errors topic.</summary>
    private async Task ReportAsync(InterceptingPublishEventArgs args, DeviceState device, long? sequence, Rejection rejection)
    {
        args.ProcessPublish = false;
        if (args.Response.ReasonCode == MqttPubAckReasonCode.Success)
        {
            args.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
        }

        args.Response.ReasonString = rejection.Code;
        await SendAsync(DeviceTopics.Errors(device.DeviceId), new DeviceErrorDto(sequence, rejection.Code, rejection.Detail, time.GetUtcNow()), CancellationToken.None)
            .ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT connection of '{UserName}' refused: {Why}")]
    private partial void LogRefused(string? userName, string why);
}
