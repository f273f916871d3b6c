using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using HeartTwin.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HeartTwin.Messaging.Mqtt;

/// <summary>
/// The bus over an MQTT 5 broker (Mosquitto). Publishing completes once the broker has acknowledged the message (PUBACK at
/// QoS 1): from then on the broker holds it for every subscribed service, online or not (persistent sessions). Each replica
/// subscribes only to the partitions it owns, hands each (type, partition) to its own consumer loop so a patient's messages
/// are handled in order, and acknowledges a message only after every local handler succeeded or the message was parked.
/// </summary>
public sealed partial class MqttBus : IMessageBus, IAsyncDisposable
{
    private readonly IServiceProvider services;
    private readonly IDeadLetters deadLetters;
    private readonly MqttMessagingOptions options;
    private readonly MessagingOptions messaging;
    private readonly ILogger<MqttBus> logger;
    private readonly MessageTypeRegistry registry;
    private readonly IMqttClient client;
    private readonly MqttClientOptions clientOptions;
    private readonly string responseTopic;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<(string Type, int Partition), PartitionConsumer> consumers = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Inbound>> pendingRequests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, object> handlers = new();
    private readonly ConcurrentDictionary<string, byte> warnedNoSubscribers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim requestSlots;
    private readonly Lock gateLock = new();
    private readonly Lock startLock = new();
    private TaskCompletionSource connectedGate = NewGate();
    private TaskCompletionSource connectionLost = NewGate();
    private Task? connectionLoop;
    private long generation;
    private long published;
    private long reconnects;
    private int stopped;

    /// <summary>Creates the bus; it connects on <see cref="StartAsync"/> (or on first use).</summary>
    public MqttBus(IServiceProvider services, IEnumerable<SubscriptionDescriptor> subscriptions, IEnumerable<RequestHandlerDescriptor> requestHandlers,
        IDeadLetters deadLetters, IOptions<MqttMessagingOptions> options, IOptions<MessagingOptions> messaging, ILogger<MqttBus> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(messaging);
        this.services = services;
        this.deadLetters = deadLetters;
        this.options = options.Value;
        this.messaging = messaging.Value;
        this.logger = logger;
        registry = new MessageTypeRegistry(subscriptions, requestHandlers);
        requestSlots = new SemaphoreSlim(this.options.MaxConcurrentRequests);
        responseTopic = MqttTopics.Response(this.options.ClientId);

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(this.options.Host, this.options.Port)
            .WithClientId(this.options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(!this.options.PersistentSession)
            .WithSessionExpiryInterval(this.options.PersistentSession ? (uint)this.options.SessionExpirySeconds : 0)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(this.options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromMilliseconds(this.options.OperationTimeoutMs))
            .WithReceiveMaximum((ushort)this.options.ReceiveMaximum);
        if (this.options.Username is not null)
        {
            builder = builder.WithCredentials(this.options.Username, this.options.Password);
        }

        clientOptions = builder.Build();
        client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        client.DisconnectedAsync += _ =>
        {
            CloseGate();
            Volatile.Read(ref connectionLost).TrySetResult();
            return Task.CompletedTask;
        };
    }

    /// <summary>Whether the client is connected to the broker now.</summary>
    public bool IsConnected => client.IsConnected;

    /// <summary>Messages published since start (acknowledged by the broker).</summary>
    public long Published => Interlocked.Read(ref published);

    /// <summary>Connections made after the first one.</summary>
    public long Reconnects => Interlocked.Read(ref reconnects);

    /// <summary>This replica's MQTT client id.</summary>
    public string ClientId => options.ClientId;

    /// <summary>
    /// Starts connecting (and reconnecting for as long as the bus lives), then waits up to <c>StartTimeoutMs</c> for the first
    /// connection. A broker that is not there yet is not fatal: the bus keeps trying and publishes wait (bounded) meanwhile.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        EnsureStarted();
        if (options.StartTimeoutMs <= 0)
        {
            return;
        }

        try
        {
            await WaitConnectedAsync(TimeSpan.FromMilliseconds(options.StartTimeoutMs), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogStartWithoutBroker(options.Host, options.Port, options.StartTimeoutMs);
        }
    }

    /// <inheritdoc />
    public async Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = message.GetType();
        string? patientId = (message as IPatientMessage)?.PatientId;
        string? key = (message as IKeyedMessage)?.MessageKey;
        int partition = MqttTopics.PartitionOf(patientId, options.Partitions);
        string topic = MqttTopics.Bus(type.Name, partition);
        var builder = NewMessage(topic, type.Name, JsonSerializer.SerializeToUtf8Bytes(message, type, MqttWire.Json));
        if (key is not null)
        {
            builder = builder.WithText(MqttWire.KeyProperty, key);
        }

        if (patientId is not null)
        {
            builder = builder.WithText(MqttWire.PartitionKeyProperty, patientId);
        }

        var result = await SendAsync(builder.Build(), $"{type.Name} {key}", cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref published);
        if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers && warnedNoSubscribers.TryAdd(topic, 0))
        {
            // Not an error (an event may have no listener yet), but a partition with no owner is a deployment mistake worth seeing.
            LogNoSubscribers(topic);
        }
    }

    /// <inheritdoc />
    /// <exception cref="NoHandlerException">No service subscribes to the request type on the broker.</exception>
    /// <exception cref="TimeoutException">No answer came within <c>Messaging:Mqtt:RequestTimeoutMs</c>.</exception>
    /// <exception cref="MessageDeliveryException">The answering service's handler failed, or the broker could not be reached.</exception>
    public async Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(request);

        // A handler in this very process answers directly: the broker would only add a round trip.
        var local = services.GetService<IRequestHandler<TRequest, TResponse>>();
        if (local is not null)
        {
            return await local.HandleAsync(request, cancellationToken).ConfigureAwait(false);
        }

        string requestType = typeof(TRequest).Name;
        var correlation = Guid.NewGuid().ToByteArray();
        string correlationKey = Convert.ToHexString(correlation);
        var answer = new TaskCompletionSource<Inbound>(TaskCreationOptions.RunContinuationsAsynchronously);
        pendingRequests[correlationKey] = answer;
        try
        {
            string topic = MqttTopics.Request(requestType);
            var message = NewMessage(topic, requestType, JsonSerializer.SerializeToUtf8Bytes(request, MqttWire.Json))
                .WithResponseTopic(responseTopic)
                .WithCorrelationData(correlation)
                .WithText(MqttWire.ResponseTypeProperty, typeof(TResponse).Name)
                .Build();
            var sent = await SendAsync(message, requestType, cancellationToken).ConfigureAwait(false);
            if (sent.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers)
            {
                throw new NoHandlerException($"No service answers {requestType}: nothing subscribes to {topic} on the broker; is the block that handles it running?");
            }

            Inbound reply;
            try
            {
                reply = await answer.Task.WaitAsync(TimeSpan.FromMilliseconds(options.RequestTimeoutMs), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException(
                    $"No answer to {requestType} within {options.RequestTimeoutMs} ms (Messaging:Mqtt:RequestTimeoutMs); the service that answers it is subscribed but did not reply.", ex);
            }

            string? error = reply.Property(MqttWire.ErrorProperty);
            if (error is not null)
            {
                throw new MessageDeliveryException($"{requestType} failed in {reply.Property(MqttWire.SourceProperty) ?? "the answering service"}: {error}");
            }

            try
            {
                return JsonSerializer.Deserialize<TResponse>(reply.Payload, MqttWire.Json)
                    ?? throw new MessageDeliveryException($"The answer to {requestType} was empty.");
            }
            catch (JsonException ex)
            {
                throw new MessageDeliveryException($"The answer to {requestType} is not a readable {typeof(TResponse).Name}: {ex.Message}", ex);
            }
        }
        finally
        {
            pendingRequests.TryRemove(correlationKey, out _);
        }
    }

    private MqttApplicationMessageBuilder NewMessage(string topic, string typeName, byte[] payload) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(MqttWire.ContentType)
            .WithText(MqttWire.TypeProperty, typeName)
            .WithText(MqttWire.IdProperty, Guid.NewGuid().ToString("N"))
            .WithText(MqttWire.PublishedAtProperty, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture))
            .WithText(MqttWire.SourceProperty, options.ServiceName);

    /// <summary>
    /// Publishes at QoS 1 and returns once the broker acknowledged. While the broker is away it waits for the reconnection
    /// and sends again (so a message may arrive twice; handlers are idempotent), for at most <c>PublishTimeoutMs</c>.
    /// </summary>
    private async Task<MqttClientPublishResult> SendAsync(MqttApplicationMessage message, string what, CancellationToken cancellationToken)
    {
        EnsureStarted();
        long deadline = Stopwatch.GetTimestamp() + (long)(options.PublishTimeoutMs / 1000.0 * Stopwatch.Frequency);
        Exception? last = null;
        while (true)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero || stopping.IsCancellationRequested)
            {
                throw new MessageDeliveryException(
                    $"{what} was not published: the MQTT broker at {options.Host}:{options.Port} did not acknowledge it within {options.PublishTimeoutMs} ms" +
                    (stopping.IsCancellationRequested ? " (the bus is stopping)" : string.Empty) + (last is null ? "." : $" (last error: {last.Message})."), last);
            }

            try
            {
                await WaitConnectedAsync(remaining, cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Token);
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

    private static bool IsTransient(Exception ex) =>
        ex is MqttCommunicationException or OperationCanceledException or ObjectDisposedException or IOException
            or System.Net.Sockets.SocketException or InvalidOperationException;

    private async Task WaitConnectedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task gate;
        lock (gateLock)
        {
            gate = connectedGate.Task;
        }

        await gate.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
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

    private void EnsureStarted()
    {
        if (connectionLoop is not null)
        {
            return;
        }

        lock (startLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref stopped) == 1, this);
            connectionLoop ??= Task.Run(() => MaintainConnectionAsync(stopping.Token));
        }
    }

    /// <summary>Connects, subscribes, waits for the connection to drop, and starts over with back-off, until the bus stops.</summary>
    private async Task MaintainConnectionAsync(CancellationToken stop)
    {
        int delay = options.ReconnectMinDelayMs;
        bool everConnected = false;
        while (!stop.IsCancellationRequested)
        {
            var lost = NewGate();
            Volatile.Write(ref connectionLost, lost);

            // Messages handed out on the previous connection can no longer be acknowledged there: the broker sends them again.
            Interlocked.Increment(ref generation);
            try
            {
                var result = await client.ConnectAsync(clientOptions, stop).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new MqttCommunicationException($"The broker refused the connection: {result.ResultCode} {result.ReasonString}");
                }

                await SubscribeAsync(result.IsSessionPresent, stop).ConfigureAwait(false);
                if (everConnected)
                {
                    Interlocked.Increment(ref reconnects);
                }

                everConnected = true;
                OpenGate();
                LogConnected(options.ClientId, options.Host, options.Port, result.IsSessionPresent);
                delay = options.ReconnectMinDelayMs;
                while (client.IsConnected && !stop.IsCancellationRequested)
                {
                    // The disconnect event is the fast path; the poll covers an event that raced with the previous connection.
                    await Task.WhenAny(lost.Task, Task.Delay(1000, stop)).ConfigureAwait(false);
                }

                CloseGate();
                if (!stop.IsCancellationRequested)
                {
                    LogDisconnected(options.ClientId);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Whatever broke the connection, the answer is the same: back off and connect again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                CloseGate();
                LogConnectFailed(options.Host, options.Port, delay, ex);
                if (client.IsConnected)
                {
                    await TryDisconnectAsync().ConfigureAwait(false);
                }

                try
                {
                    await Task.Delay(delay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = Math.Min(delay * 2, options.ReconnectMaxDelayMs);
            }
        }
    }

    private async Task SubscribeAsync(bool sessionPresent, CancellationToken cancellationToken)
    {
        var owned = MqttTopics.OwnedPartitions(options.Partitions, options.ReplicaIndex, options.ReplicaCount).ToHashSet();
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(responseTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        foreach (var type in registry.Subscriptions.Keys)
        {
            foreach (int p in owned)
            {
                subscribe = subscribe.WithTopicFilter(MqttTopics.Bus(type, p), MqttQualityOfServiceLevel.AtLeastOnce);
            }
        }

        foreach (var type in registry.Requests.Keys)
        {
            subscribe = subscribe.WithTopicFilter(MqttTopics.SharedRequest(options.ServiceName, type), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var result = await client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
        var refused = result.Items.Where(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2).ToList();
        if (refused.Count > 0)
        {
            throw new MqttCommunicationException(
                $"The broker refused {refused.Count} subscription(s), e.g. {refused[0].TopicFilter.Topic}: {refused[0].ResultCode}");
        }

        // A session kept from when the replicas were counted differently still holds partitions that are no longer ours.
        if (sessionPresent && options.ReplicaCount > 1 && registry.Subscriptions.Count > 0)
        {
            var unsubscribe = new MqttClientUnsubscribeOptionsBuilder();
            foreach (var type in registry.Subscriptions.Keys)
            {
                for (int p = 0; p < options.Partitions; p++)
                {
                    if (!owned.Contains(p))
                    {
                        unsubscribe = unsubscribe.WithTopicFilter(MqttTopics.Bus(type, p));
                    }
                }
            }

            await client.UnsubscribeAsync(unsubscribe.Build(), cancellationToken).ConfigureAwait(false);
        }
    }

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        // Acknowledge only once handled: a message this process dies holding is sent again by the broker.
        e.AutoAcknowledge = false;
        var inbound = new Inbound(e, Interlocked.Read(ref generation));
        string topic = e.ApplicationMessage.Topic;
        if (string.Equals(topic, responseTopic, StringComparison.Ordinal))
        {
            return OnResponseAsync(inbound);
        }

        if (MqttTopics.TryParseRequest(topic, out var requestType))
        {
            _ = Task.Run(() => AnswerAsync(inbound, requestType));
            return Task.CompletedTask;
        }

        if (MqttTopics.TryParseBus(topic, out var messageType, out int partition))
        {
            // One ordered consumer per (type, partition): the broker keeps a topic's order, and this keeps it through handling.
            consumers.GetOrAdd((messageType, partition), k => new PartitionConsumer(this, k.Type)).Queue.Writer.TryWrite(inbound);
            return Task.CompletedTask;
        }

        return ParkAndAcknowledgeAsync(inbound, "(unknown topic)", topic, $"No bus topic: {topic}");
    }

    private async Task OnResponseAsync(Inbound inbound)
    {
        var correlation = inbound.Message.CorrelationData;
        if (correlation is not null && pendingRequests.TryRemove(Convert.ToHexString(correlation), out var waiting))
        {
            waiting.TrySetResult(inbound);
        }

        // An answer nobody waits for any more (timed out) is dropped: the requester already reported the timeout.
        await AcknowledgeAsync(inbound).ConfigureAwait(false);
    }

    private async Task ConsumeAsync(string messageType, ChannelReader<Inbound> queue)
    {
        try
        {
            await foreach (var inbound in queue.ReadAllAsync(stopping.Token).ConfigureAwait(false))
            {
                if (IsStale(inbound))
                {
                    continue; // Its connection is gone; the broker sends it again on the new one, in order.
                }

                await DeliverAsync(messageType, inbound).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping: what was not acknowledged is sent again to this replica's session.
        }
    }

    private bool IsStale(Inbound inbound) => options.PersistentSession && inbound.Generation != Interlocked.Read(ref generation);

    private async Task DeliverAsync(string topicType, Inbound inbound)
    {
        string? wireType = inbound.Property(MqttWire.TypeProperty);
        if (!registry.Subscriptions.TryGetValue(topicType, out var subscriptions))
        {
            await ParkAndAcknowledgeAsync(inbound, "(no subscription)", wireType ?? topicType, $"This service does not subscribe to {topicType}.").ConfigureAwait(false);
            return;
        }

        if (!string.Equals(wireType, topicType, StringComparison.Ordinal))
        {
            await ParkAndAcknowledgeAsync(inbound, subscriptions[0].HandlerType.Name, wireType ?? "(none)",
                $"Rejected: the message type '{wireType ?? "(none)"}' is not the topic's type '{topicType}' (types are read only from this service's subscriptions).").ConfigureAwait(false);
            return;
        }

        object? message;
        try
        {
            message = JsonSerializer.Deserialize(inbound.Payload, subscriptions[0].MessageType, MqttWire.Json);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException)
        {
            await ParkAndAcknowledgeAsync(inbound, subscriptions[0].HandlerType.Name, topicType, $"Unreadable {topicType}: {ex.Message}").ConfigureAwait(false);
            return;
        }

        if (message is null)
        {
            await ParkAndAcknowledgeAsync(inbound, subscriptions[0].HandlerType.Name, topicType, $"Unreadable {topicType}: the payload is null.").ConfigureAwait(false);
            return;
        }

        var context = new MessageContext(
            inbound.Property(MqttWire.IdProperty) ?? Guid.NewGuid().ToString("N"),
            (message as IKeyedMessage)?.MessageKey,
            (message as IPatientMessage)?.PatientId,
            1,
            DateTimeOffset.TryParse(inbound.Property(MqttWire.PublishedAtProperty), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : DateTimeOffset.UtcNow);

        foreach (var subscription in subscriptions)
        {
            if (!await DeliverToAsync(subscription, message, context, inbound).ConfigureAwait(false))
            {
                return; // Stopping, or the parked message could not be published: leave it unacknowledged, the broker sends it again.
            }
        }

        await AcknowledgeAsync(inbound).ConfigureAwait(false);
    }

    /// <summary>Runs one handler with retries; parks the message when every attempt failed. False: do not acknowledge.</summary>
    private async Task<bool> DeliverToAsync(SubscriptionDescriptor subscription, object message, MessageContext context, Inbound inbound)
    {
        object handler;
        try
        {
            handler = handlers.GetOrAdd(subscription.HandlerType, services.GetRequiredService);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        Exception? last = null;
        int delay = messaging.RetryDelayMs;
        for (int attempt = 1; attempt <= messaging.MaxAttempts; attempt++)
        {
            try
            {
                await subscription.Invoke(handler, message, attempt == 1 ? context : context with { Attempt = attempt }, stopping.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return false;
            }
#pragma warning disable CA1031 // A handler's failure of any kind is retried and then parked; the bus must keep running.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                last = ex;
                LogHandlerFailed(subscription.HandlerType.Name, subscription.MessageType.Name, context.MessageKey, attempt, ex);
                if (attempt < messaging.MaxAttempts && delay > 0)
                {
                    try
                    {
                        await Task.Delay(delay, stopping.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return false;
                    }

                    delay = Math.Min(delay * 2, 5_000);
                }
            }
        }

        var letter = new DeadLetter(subscription.HandlerType.Name, subscription.MessageType.Name, context.MessageKey, context.PartitionKey,
            last?.Message ?? "unknown", messaging.MaxAttempts, DateTimeOffset.UtcNow, message);
        return await ParkAsync(letter, inbound).ConfigureAwait(false);
    }

    /// <summary>Parks a message that cannot be read (unknown type, bad payload) and acknowledges it once the park is published.</summary>
    private async Task ParkAndAcknowledgeAsync(Inbound inbound, string subscription, string messageType, string error)
    {
        var letter = new DeadLetter(subscription, messageType, inbound.Property(MqttWire.KeyProperty), inbound.Property(MqttWire.PartitionKeyProperty),
            error, 1, DateTimeOffset.UtcNow, inbound.PayloadText);
        if (await ParkAsync(letter, inbound).ConfigureAwait(false))
        {
            await AcknowledgeAsync(inbound).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps the letter in <see cref="IDeadLetters"/> (readiness reports it) and publishes it to
    /// <c>hearttwin/deadletters/{ServiceName}</c>, where operators and tools can see it. False when the broker did not take it.
    /// </summary>
    private async Task<bool> ParkAsync(DeadLetter letter, Inbound inbound)
    {
        LogParked(letter.Subscription, letter.MessageType, letter.MessageKey, inbound.Message.Topic, letter.Error);
        deadLetters.Park(letter);
        var notice = new DeadLetterNotice(options.ServiceName, options.ClientId, letter.Subscription, letter.MessageType, letter.MessageKey,
            letter.PartitionKey, letter.Error, letter.Attempts, letter.ParkedAt, inbound.Message.Topic, inbound.PayloadText);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(MqttTopics.DeadLetters(options.ServiceName))
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(notice, MqttWire.Json))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(MqttWire.ContentType)
            .WithText(MqttWire.TypeProperty, nameof(DeadLetterNotice))
            .WithText(MqttWire.SourceProperty, options.ServiceName)
            .Build();
        try
        {
            await SendAsync(message, $"dead letter of {letter.MessageType}", stopping.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is MessageDeliveryException or OperationCanceledException)
        {
            LogParkNotPublished(letter.MessageType, ex);
            return false;
        }
    }

    private async Task AnswerAsync(Inbound inbound, string requestType)
    {
        try
        {
            await requestSlots.WaitAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            var request = inbound.Message;
            string? replyTo = request.ResponseTopic;

            // The answer goes only to a response topic: a request must not make this service publish on the bus.
            if (replyTo is null || !replyTo.StartsWith(MqttTopics.Response(string.Empty), StringComparison.Ordinal) || request.CorrelationData is null)
            {
                await ParkAndAcknowledgeAsync(inbound, "(request)", requestType, $"Rejected {requestType}: no response topic under {MqttTopics.Response("…")} or no correlation data.").ConfigureAwait(false);
                return;
            }

            object? answer = null;
            string? error = null;
            string answerType = "(error)";
            if (!registry.Requests.TryGetValue(requestType, out var descriptor))
            {
                error = $"{options.ServiceName} does not answer {requestType}.";
            }
            else if (inbound.Property(MqttWire.ResponseTypeProperty) is { } expected && !string.Equals(expected, descriptor.ResponseType.Name, StringComparison.Ordinal))
            {
                error = $"{requestType} is answered with {descriptor.ResponseType.Name}, not {expected}.";
            }
            else
            {
                answerType = descriptor.ResponseType.Name;
                try
                {
                    var body = JsonSerializer.Deserialize(inbound.Payload, descriptor.RequestType, MqttWire.Json)
                        ?? throw new JsonException("The payload is null.");
                    var handler = handlers.GetOrAdd(descriptor.HandlerType, services.GetRequiredService);
                    answer = await descriptor.Invoke(handler, body, stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return; // Not acknowledged: the broker hands the request to a replica that is still running.
                }
                catch (JsonException ex)
                {
                    error = $"Unreadable {requestType}: {ex.Message}";
                }
#pragma warning disable CA1031 // The handler's failure is the requester's answer, not this service's crash.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    error = $"{ex.GetType().Name}: {ex.Message}";
                    LogRequestFailed(requestType, ex);
                }
            }

            var reply = NewMessage(replyTo, answerType, answer is null ? [] : JsonSerializer.SerializeToUtf8Bytes(answer, descriptor!.ResponseType, MqttWire.Json))
                .WithCorrelationData(request.CorrelationData);
            if (error is not null)
            {
                reply = reply.WithText(MqttWire.ErrorProperty, error);
            }

            await SendAsync(reply.Build(), $"answer to {requestType}", stopping.Token).ConfigureAwait(false);
            await AcknowledgeAsync(inbound).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // An answer that cannot be sent leaves the request unacknowledged; the broker sends it again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogRequestFailed(requestType, ex);
        }
        finally
        {
            requestSlots.Release();
        }
    }

    private async Task AcknowledgeAsync(Inbound inbound)
    {
        if (IsStale(inbound) || !client.IsConnected)
        {
            return; // Acknowledging on another connection would be wrong; the broker sends it again and handlers are idempotent.
        }

        try
        {
            await inbound.Args.AcknowledgeAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            LogAckFailed(inbound.Message.Topic, ex);
        }
    }

    private async Task TryDisconnectAsync()
    {
        try
        {
            // A normal DISCONNECT keeps the persistent session (and its unacknowledged messages) on the broker.
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // Already gone.
        }
    }

    /// <summary>Stops receiving and disconnects; messages not yet acknowledged stay with the broker for this replica's next start.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return;
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        foreach (var consumer in consumers.Values)
        {
            consumer.Queue.Writer.TryComplete();
        }

        var loops = consumers.Values.Select(c => c.Loop).Append(connectionLoop ?? Task.CompletedTask);
        await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        if (client.IsConnected)
        {
            await TryDisconnectAsync().ConfigureAwait(false);
        }

        foreach (var waiting in pendingRequests.Values)
        {
            waiting.TrySetException(new MessageDeliveryException("The bus stopped before the answer came."));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        client.Dispose();
        requestSlots.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT bus {ClientId} connected to {Host}:{Port} (session present: {SessionPresent})")]
    private partial void LogConnected(string clientId, string host, int port, bool sessionPresent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT bus {ClientId} lost its connection; reconnecting")]
    private partial void LogDisconnected(string clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT bus cannot connect to {Host}:{Port}; trying again in {DelayMs} ms")]
    private partial void LogConnectFailed(string host, int port, int delayMs, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT broker {Host}:{Port} not reachable within {TimeoutMs} ms of start; the bus keeps trying and publishes wait meanwhile")]
    private partial void LogStartWithoutBroker(string host, int port, int timeoutMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nothing subscribes to {Topic} yet: messages published there are dropped by the broker (is a replica missing for this partition?)")]
    private partial void LogNoSubscribers(string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription} failed on {MessageType} {MessageKey} (attempt {Attempt})")]
    private partial void LogHandlerFailed(string subscription, string messageType, string? messageKey, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Parked {MessageType} {MessageKey} for {Subscription} (from {Topic}): {Error}")]
    private partial void LogParked(string subscription, string messageType, string? messageKey, string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish the dead letter of {MessageType}; it stays unacknowledged and comes back")]
    private partial void LogParkNotPublished(string messageType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestType} failed")]
    private partial void LogRequestFailed(string requestType, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not acknowledge a message from {Topic}; the broker will send it again")]
    private partial void LogAckFailed(string topic, Exception exception);

    /// <summary>One ordered queue and its consumer loop.</summary>
    private sealed class PartitionConsumer
    {
        public PartitionConsumer(MqttBus bus, string messageType)
        {
            // Unbounded is safe: the broker sends at most ReceiveMaximum unacknowledged messages to this client.
            Queue = Channel.CreateUnbounded<Inbound>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            Loop = Task.Run(() => bus.ConsumeAsync(messageType, Queue.Reader));
        }

        public Channel<Inbound> Queue { get; }

        public Task Loop { get; }
    }

    /// <summary>A received message, with the connection generation it came on.</summary>
    private sealed class Inbound(MqttApplicationMessageReceivedEventArgs args, long generation)
    {
        public MqttApplicationMessageReceivedEventArgs Args { get; } = args;

        public MqttApplicationMessage Message => Args.ApplicationMessage;

        public long Generation { get; } = generation;

        /// <summary>A copy of the payload (the client may reuse its buffers once the callback returns).</summary>
        public byte[] Payload { get; } = args.ApplicationMessage.Payload.ToArray();

        public string PayloadText => Encoding.UTF8.GetString(Payload);

        public string? Property(string name) =>
            Message.UserProperties?.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal)) is { } p ? Encoding.UTF8.GetString(p.ValueBuffer.Span) : null;
    }
}

/// <summary>MQTT 5 user properties as UTF-8 text.</summary>
internal static class UserPropertyExtensions
{
    /// <summary>Adds a user property whose value is <paramref name="value"/> in UTF-8.</summary>
    public static MqttApplicationMessageBuilder WithText(this MqttApplicationMessageBuilder builder, string name, string value) =>
        builder.WithUserProperty(name, new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(value)));
}

/// <summary>What a service publishes to <c>hearttwin/deadletters/{ServiceName}</c> when it parks a message.</summary>
/// <param name="Service">The service (consumer group) that parked it.</param>
/// <param name="ClientId">The replica's client id.</param>
/// <param name="Subscription">The handler that gave up, or what rejected it.</param>
/// <param name="MessageType">The message type's name, as the wire said.</param>
/// <param name="MessageKey">Its key, if any.</param>
/// <param name="PartitionKey">Its patient, if any.</param>
/// <param name="Error">Why it was parked.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="ParkedAt">UTC time it was parked.</param>
/// <param name="Topic">The topic it came on.</param>
/// <param name="Payload">The payload as received (UTF-8), so that it can be inspected and republished.</param>
public sealed record DeadLetterNotice(string Service, string ClientId, string Subscription, string MessageType, string? MessageKey, string? PartitionKey,
    string Error, int Attempts, DateTimeOffset ParkedAt, string Topic, string Payload);
