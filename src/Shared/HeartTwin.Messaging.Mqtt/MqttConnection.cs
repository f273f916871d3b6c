using System.Diagnostics;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>
/// One MQTT client connection of the bus, kept alive for as long as the bus lives: it connects, subscribes, waits for the
/// connection to drop and starts over with back-off. Publishing through it waits (bounded) for a connection and for the
/// broker's PUBACK. The bus holds two: one for bus messages and one for requests and answers, so that an answer never
/// waits behind bus messages in the same receive window (MQTT 5 Receive Maximum).
/// </summary>
internal sealed partial class MqttConnection : IDisposable
{
    private readonly IMqttClient client;
    private readonly MqttClientOptions clientOptions;
    private readonly MqttMessagingOptions options;
    private readonly Func<bool, CancellationToken, Task> subscribe;
    private readonly ILogger logger;
    private readonly CancellationToken stop;
    private readonly Lock gateLock = new();
    private readonly Lock startLock = new();
    private TaskCompletionSource connectedGate = NewGate();
    private TaskCompletionSource connectionLost = NewGate();
    private Task? loop;
    private long generation;
    private long reconnects;

    /// <param name="name">What this connection carries, for logs ("bus", "requests").</param>
    /// <param name="clientOptions">The MQTT client's options (client id, session, receive maximum).</param>
    /// <param name="options">The transport's options (timeouts, back-off).</param>
    /// <param name="persistent">Whether the broker keeps this connection's session: then messages received on an earlier
    /// connection are not acknowledged on a later one (the broker sends them again).</param>
    /// <param name="subscribe">Subscribes after each connect; its argument says whether the broker kept the session.</param>
    /// <param name="onMessage">Called for every message received; it must not block (MQTTnet hands messages over one at a time).</param>
    /// <param name="logger">Where connection events go.</param>
    /// <param name="stop">Cancelled when the bus stops.</param>
    public MqttConnection(string name, MqttClientOptions clientOptions, MqttMessagingOptions options, bool persistent,
        Func<MqttConnection, bool, CancellationToken, Task> subscribe, Func<MqttConnection, MqttApplicationMessageReceivedEventArgs, Task> onMessage,
        ILogger logger, CancellationToken stop)
    {
        Name = name;
        this.clientOptions = clientOptions;
        this.options = options;
        Persistent = persistent;
        this.subscribe = (sessionPresent, ct) => subscribe(this, sessionPresent, ct);
        this.logger = logger;
        this.stop = stop;
        client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e => onMessage(this, e);
        client.DisconnectedAsync += _ =>
        {
            CloseGate();
            Volatile.Read(ref connectionLost).TrySetResult();
            return Task.CompletedTask;
        };
    }

    /// <summary>What this connection carries.</summary>
    public string Name { get; }

    /// <summary>This connection's MQTT client id.</summary>
    public string ClientId => clientOptions.ClientId;

    /// <summary>Whether the broker keeps this connection's session.</summary>
    public bool Persistent { get; }

    /// <summary>Whether the client is connected to the broker now.</summary>
    public bool IsConnected => client.IsConnected;

    /// <summary>Counts connections: a message received on an older one can no longer be acknowledged.</summary>
    public long Generation => Interlocked.Read(ref generation);

    /// <summary>Connections made after the first one.</summary>
    public long Reconnects => Interlocked.Read(ref reconnects);

    /// <summary>The MQTTnet client, for subscribing and acknowledging.</summary>
    public IMqttClient Client => client;

    /// <summary>Starts the connection loop once.</summary>
    public void EnsureStarted()
    {
        if (loop is not null)
        {
            return;
        }

        lock (startLock)
        {
            ObjectDisposedException.ThrowIf(stop.IsCancellationRequested, this);
            loop ??= Task.Run(() => MaintainAsync(stop));
        }
    }

    /// <summary>The connection loop (completes when the bus stops).</summary>
    public Task Loop => loop ?? Task.CompletedTask;

    /// <summary>Waits until connected, at most <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">Not connected in time.</exception>
    public async Task WaitConnectedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task gate;
        lock (gateLock)
        {
            gate = connectedGate.Task;
        }

        await gate.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes and returns once the broker acknowledged (QoS 1). While the broker is away it waits for the reconnection and
    /// sends again (so a message may arrive twice; handlers are idempotent), for at most <c>PublishTimeoutMs</c>.
    /// </summary>
    /// <exception cref="MessageDeliveryException">The broker did not take it in time, or refused it.</exception>
    public async Task<MqttClientPublishResult> SendAsync(MqttApplicationMessage message, string what, CancellationToken cancellationToken)
    {
        EnsureStarted();
        long deadline = Stopwatch.GetTimestamp() + (long)(options.PublishTimeoutMs / 1000.0 * Stopwatch.Frequency);
        Exception? last = null;
        while (true)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero || stop.IsCancellationRequested)
            {
                throw new MessageDeliveryException(
                    $"{what} was not published: the MQTT broker at {options.Host}:{options.Port} did not acknowledge it within {options.PublishTimeoutMs} ms" +
                    (stop.IsCancellationRequested ? " (the bus is stopping)" : string.Empty) + (last is null ? "." : $" (last error: {last.Message})."), last);
            }

            try
            {
                await WaitConnectedAsync(remaining, cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop);
                timeout.CancelAfter(remaining);
                var result = await client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
                if (result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers)
                {
                    return result;
                }

                throw new MessageDeliveryException($"The broker refused {what} on {message.Topic}: {result.ReasonCode} {result.ReasonString}".TrimEnd());
            }
            catch (TimeoutException ex)
            {
                last = ex;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsTransient(ex))
            {
                last = ex;
                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Failures that a reconnection may cure.</summary>
    public static bool IsTransient(Exception ex) =>
        ex is MqttCommunicationException or OperationCanceledException or ObjectDisposedException or IOException
            or System.Net.Sockets.SocketException or InvalidOperationException;

    /// <summary>Sends a normal DISCONNECT, which keeps a persistent session (and its unacknowledged messages) on the broker.</summary>
    public async Task DisconnectAsync()
    {
        if (!client.IsConnected)
        {
            return;
        }

        try
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // Already gone.
        }
    }

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        int delay = options.ReconnectMinDelayMs;
        bool everConnected = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var lost = NewGate();
            Volatile.Write(ref connectionLost, lost);

            // Messages handed out on the previous connection can no longer be acknowledged there: the broker sends them again.
            Interlocked.Increment(ref generation);
            try
            {
                var result = await client.ConnectAsync(clientOptions, cancellationToken).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new MqttCommunicationException($"The broker refused the connection: {result.ResultCode} {result.ReasonString}");
                }

                await subscribe(result.IsSessionPresent, cancellationToken).ConfigureAwait(false);
                if (everConnected)
                {
                    Interlocked.Increment(ref reconnects);
                }

                everConnected = true;
                OpenGate();
                LogConnected(Name, ClientId, options.Host, options.Port, result.IsSessionPresent);
                delay = options.ReconnectMinDelayMs;
                while (client.IsConnected && !cancellationToken.IsCancellationRequested)
                {
                    // The disconnect event is the fast path; the poll covers an event that raced with the previous connection.
                    await Task.WhenAny(lost.Task, Task.Delay(1000, cancellationToken)).ConfigureAwait(false);
                }

                CloseGate();
                if (!cancellationToken.IsCancellationRequested)
                {
                    LogDisconnected(Name, ClientId);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Whatever broke the connection, the answer is the same: back off and connect again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                CloseGate();
                LogConnectFailed(Name, options.Host, options.Port, delay, ex);
                await DisconnectAsync().ConfigureAwait(false);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = Math.Min(delay * 2, options.ReconnectMaxDelayMs);
            }
        }
    }

    private void OpenGate()
    {
        lock (gateLock)
        {
            connectedGate.TrySetResult();
        }
    }

    private void CloseGate()
    {
        lock (gateLock)
        {
            if (connectedGate.Task.IsCompleted)
            {
                connectedGate = NewGate();
            }
        }
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public void Dispose() => client.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT {Name} connection {ClientId} connected to {Host}:{Port} (session present: {SessionPresent})")]
    private partial void LogConnected(string name, string clientId, string host, int port, bool sessionPresent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT {Name} connection {ClientId} lost; reconnecting")]
    private partial void LogDisconnected(string name, string clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT {Name} connection cannot reach {Host}:{Port}; trying again in {DelayMs} ms")]
    private partial void LogConnectFailed(string name, string host, int port, int delayMs, Exception exception);
}
