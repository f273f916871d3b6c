using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using HeartTwin.Contracts.Wire;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HeartTwin.Simulation;

/// <summary>
/// A device on MQTT: client id and username = device id, password = the device token, MQTT 5 with a persistent session
/// (clean start off, one-day session expiry) so that commands sent while it is offline wait for it. Batches go out at QoS 1
/// and count as delivered only on PUBACK; a batch whose PUBACK never came is sent again, with the same sequence, after reconnecting.
/// </summary>
internal sealed class MqttDeviceTransport : IDeviceTransport
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly string _deviceId;
    private readonly bool _binary;
    private readonly Action<string> _log;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly Channel<CommandDto> _commands = Channel.CreateUnbounded<CommandDto>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Func<CommandDto, AckDto>? _onCommand;
    private Task _ackLoop = Task.CompletedTask;
    private bool _everConnected;

    public MqttDeviceTransport(string host, int port, string deviceId, string token, bool binary, Action<string> log)
    {
        _deviceId = deviceId;
        _binary = binary;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _options = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(deviceId)
            .WithCredentials(deviceId, token)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(86_400)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    public string Name => "mqtt";

    /// <summary>Reconnections after the first connection.</summary>
    public int Reconnects { get; private set; }

    public async Task StartAsync(Func<CommandDto, AckDto> onCommand, CancellationToken cancellationToken)
    {
        _onCommand = onCommand;
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        _ackLoop = Task.Run(() => AcknowledgeLoopAsync(_stop.Token), CancellationToken.None);
    }

    public async Task<SendOutcome> SendAsync(SimulatedBatch batch, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(DeviceTopics.Samples(_deviceId))
            .WithPayload(_binary ? batch.ToBinary() : batch.ToJson())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        for (int attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(AckTimeout);
                var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
                switch (result.ReasonCode)
                {
                    case MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers:
                        return new SendOutcome(attempt, IsDuplicate(result.ReasonString));
                    case MqttClientPublishReasonCode.QuotaExceeded:
                        // The broker is overloaded: back off and send the same batch again.
                        break;
                    case MqttClientPublishReasonCode.NotAuthorized:
                        throw new DeviceRejectedException($"The broker refused to take samples from device '{_deviceId}' (PUBACK NotAuthorized){Suffix(result.ReasonString)}.");
                    default:
                        return new SendOutcome(attempt, false, Rejected: true, Detail: $"{result.ReasonCode}{Suffix(result.ReasonString)}");
                }
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                _log($"{_deviceId}: batch {batch.Sequence} not acknowledged ({e.GetType().Name}: {e.Message}); reconnecting and sending it again");
            }

            await Task.Delay(Backoff.Delay(attempt, InitialBackoff, MaxBackoff), cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Suffix(string? reason) => string.IsNullOrEmpty(reason) ? string.Empty : $": {reason}";

    private static bool IsDuplicate(string? reason) => reason?.Contains("duplicate", StringComparison.OrdinalIgnoreCase) == true;

    private static bool IsTransient(Exception e) =>
        e is MqttCommunicationException or OperationCanceledException or IOException or System.Net.Sockets.SocketException or InvalidOperationException;

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            return;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int attempt = 0; !_client.IsConnected; attempt++)
            {
                try
                {
                    var result = await _client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
                    ThrowIfRefused(result.ResultCode, result.ReasonString);
                    if (!result.IsSessionPresent || !_everConnected)
                    {
                        // A new session has no subscriptions; an old one keeps them, and the commands queued meanwhile.
                        await _client.SubscribeAsync(DeviceTopics.Commands(_deviceId), MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
                        await _client.SubscribeAsync(DeviceTopics.Errors(_deviceId), MqttQualityOfServiceLevel.AtMostOnce, cancellationToken).ConfigureAwait(false);
                    }

                    if (_everConnected)
                    {
                        Reconnects++;
                        _log($"{_deviceId}: reconnected (session {(result.IsSessionPresent ? "resumed" : "new")})");
                    }

                    _everConnected = true;
                }
                catch (MqttConnectingFailedException e) when (e.InnerException is null && IsRefusal(e.Message))
                {
                    throw new DeviceRejectedException($"The broker refused device '{_deviceId}': {e.Message}", e);
                }
                catch (Exception e) when (e is not DeviceRejectedException && IsTransient(e) && !cancellationToken.IsCancellationRequested)
                {
                    if (attempt == 0 || attempt % 10 == 0)
                    {
                        _log($"{_deviceId}: cannot connect to the broker ({e.Message}); retrying");
                    }

                    await Task.Delay(Backoff.Delay(attempt, InitialBackoff, MaxBackoff), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private static bool IsRefusal(string message) =>
        message.Contains(nameof(MqttClientConnectResultCode.BadUserNameOrPassword), StringComparison.Ordinal)
        || message.Contains(nameof(MqttClientConnectResultCode.NotAuthorized), StringComparison.Ordinal)
        || message.Contains(nameof(MqttClientConnectResultCode.Banned), StringComparison.Ordinal)
        || message.Contains(nameof(MqttClientConnectResultCode.ClientIdentifierNotValid), StringComparison.Ordinal);

    private void ThrowIfRefused(MqttClientConnectResultCode code, string? reason)
    {
        if (code is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized
            or MqttClientConnectResultCode.Banned or MqttClientConnectResultCode.ClientIdentifierNotValid)
        {
            throw new DeviceRejectedException($"The broker refused device '{_deviceId}': {code}{Suffix(reason)} (check --device and --token).");
        }

        if (code != MqttClientConnectResultCode.Success)
        {
            throw new MqttCommunicationException($"The broker answered {code}{Suffix(reason)}.");
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        if (topic == DeviceTopics.Commands(_deviceId))
        {
            try
            {
                var command = JsonSerializer.Deserialize<CommandDto>(payload, SimulatedBatch.Json);
                if (command is not null)
                {
                    // Acknowledging means publishing at QoS 1 and awaiting its PUBACK, which this receive callback would block: hand it over.
                    _commands.Writer.TryWrite(command);
                }
            }
            catch (JsonException ex)
            {
                _log($"{_deviceId}: ignored a malformed command: {ex.Message}");
            }
        }
        else if (topic == DeviceTopics.Errors(_deviceId))
        {
            _log($"{_deviceId}: the twin reported an error: {System.Text.Encoding.UTF8.GetString(payload)}");
        }

        return Task.CompletedTask;
    }

    private async Task AcknowledgeLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var command in _commands.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var ack = _onCommand!(command);
                var message = new MqttApplicationMessageBuilder()
                    .WithTopic(DeviceTopics.Acks(_deviceId))
                    .WithPayload(JsonSerializer.SerializeToUtf8Bytes(ack, SimulatedBatch.Json))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build();
                for (int attempt = 0; ; attempt++)
                {
                    try
                    {
                        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
                        await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
                    {
                        await Task.Delay(Backoff.Delay(attempt, InitialBackoff, MaxBackoff), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping while an acknowledgement was in flight: the broker redelivers the command to the persistent session.
        }
        catch (DeviceRejectedException e)
        {
            _log(e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _ackLoop.ConfigureAwait(false);
        if (_client.IsConnected)
        {
            // A normal disconnect keeps the persistent session on the broker.
            await _client.TryDisconnectAsync(MqttClientDisconnectOptionsReason.NormalDisconnection, string.Empty).ConfigureAwait(false);
        }

        _client.Dispose();
        _connectLock.Dispose();
        _stop.Dispose();
    }
}
