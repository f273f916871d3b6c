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
    private readonly MqttConnection busConnection;
    private readonly MqttConnection requestConnection;
    private readonly string responseTopic;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<(string Type, int Partition), PartitionConsumer> consumers = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Inbound>> pendingRequests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, object> handlers = new();
    private readonly ConcurrentDictionary<string, byte> warnedNoSubscribers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim requestSlots;
    private long published;
    private int waitingRequests;
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

        // Bus messages: the replica's persistent session, acknowledged only once handled, so the receive window is also the
        // backlog this process holds.
        busConnection = new MqttConnection("bus", ClientOptions(this.options.ClientId, this.options.PersistentSession, this.options.ReceiveMaximum),
            this.options, this.options.PersistentSession, SubscribeBusAsync, OnBusMessageAsync, logger, stopping.Token);

        // Requests and answers: a connection of their own. On the bus connection an answer would queue behind every bus message
        // the broker holds for this client while its handlers are busy (the receive window is full), and a request would time
        // out although the answer was ready. A request is worth nothing once its requester has timed out, so this session is
        // not kept: a request that reaches no replica fails at once as having no handler.
        requestConnection = new MqttConnection("requests", ClientOptions(this.options.ClientId + "-rpc", persistent: false,
                Math.Max(16, this.options.MaxConcurrentRequests * 4)),
            this.options, persistent: false, SubscribeRequestsAsync, OnRequestMessageAsync, logger, stopping.Token);
    }

    private MqttClientOptions ClientOptions(string clientId, bool persistent, int receiveMaximum)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(options.Host, options.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(!persistent)
            .WithSessionExpiryInterval(persistent ? (uint)options.SessionExpirySeconds : 0)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(options.KeepAliveSeconds))
            .WithTimeout(TimeSpan.FromMilliseconds(options.OperationTimeoutMs))
            .WithReceiveMaximum((ushort)Math.Min(receiveMaximum, ushort.MaxValue));
        if (options.Username is not null)
        {
            builder = builder.WithCredentials(options.Username, options.Password);
        }

        return builder.Build();
    }

    /// <summary>Whether both connections (bus messages, and requests with their answers) are up now.</summary>
    public bool IsConnected => busConnection.IsConnected && requestConnection.IsConnected;

    /// <summary>Messages published since start (acknowledged by the broker).</summary>
    public long Published => Interlocked.Read(ref published);

    /// <summary>Connections made after the first one.</summary>
    public long Reconnects => busConnection.Reconnects + requestConnection.Reconnects;

    /// <summary>This replica's MQTT client id (of its bus connection; the request connection's is this with <c>-rpc</c>).</summary>
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
            var timeout = TimeSpan.FromMilliseconds(options.StartTimeoutMs);
            await Task.WhenAll(busConnection.WaitConnectedAsync(timeout, cancellationToken), requestConnection.WaitConnectedAsync(timeout, cancellationToken)).ConfigureAwait(false);
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

        var result = await busConnection.SendAsync(builder.Build(), $"{type.Name} {key}", cancellationToken).ConfigureAwait(false);
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
            EnsureStarted();
            var sent = await requestConnection.SendAsync(message, requestType, cancellationToken).ConfigureAwait(false);
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

    private void EnsureStarted()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref stopped) == 1, this);
        busConnection.EnsureStarted();
        requestConnection.EnsureStarted();
    }

    private async Task SubscribeRequestsAsync(MqttConnection connection, bool sessionPresent, CancellationToken cancellationToken)
    {
        var subscribe = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(responseTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        foreach (var type in registry.Requests.Keys)
        {
            subscribe = subscribe.WithTopicFilter(MqttTopics.SharedRequest(options.ServiceName, type), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await SubscribeAllAsync(connection, subscribe, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SubscribeAllAsync(MqttConnection connection, MqttClientSubscribeOptionsBuilder subscribe, CancellationToken cancellationToken)
    {
        var result = await connection.Client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
        var refused = result.Items.Where(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2).ToList();
        if (refused.Count > 0)
        {
            throw new MqttCommunicationException(
                $"The broker refused {refused.Count} subscription(s), e.g. {refused[0].TopicFilter.Topic}: {refused[0].ResultCode}");
        }
    }

    private async Task SubscribeBusAsync(MqttConnection connection, bool sessionPresent, CancellationToken cancellationToken)
    {
        var owned = MqttTopics.OwnedPartitions(options.Partitions, options.ReplicaIndex, options.ReplicaCount).ToHashSet();
        if (registry.Subscriptions.Count == 0)
        {
            return; // A service that only publishes: nothing to receive on the bus connection.
        }

        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var type in registry.Subscriptions.Keys)
        {
            foreach (int p in owned)
            {
                subscribe = subscribe.WithTopicFilter(MqttTopics.Bus(type, p), MqttQualityOfServiceLevel.AtLeastOnce);
            }
        }

        await SubscribeAllAsync(connection, subscribe, cancellationToken).ConfigureAwait(false);

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

            await connection.Client.UnsubscribeAsync(unsubscribe.Build(), cancellationToken).ConfigureAwait(false);
        }
    }

    private Task OnRequestMessageAsync(MqttConnection connection, MqttApplicationMessageReceivedEventArgs e)
    {
        e.AutoAcknowledge = false;
        var inbound = new Inbound(e, connection);
        string topic = e.ApplicationMessage.Topic;
        if (string.Equals(topic, responseTopic, StringComparison.Ordinal))
        {
            return OnResponseAsync(inbound);
        }

        if (MqttTopics.TryParseRequest(topic, out var requestType))
        {
            return AcceptRequestAsync(inbound, requestType);
        }

        return ParkAndAcknowledgeAsync(inbound, "(unknown topic)", topic, $"No request or answer topic: {topic}");
    }

    /// <summary>
    /// Acknowledges a request at once and answers it in the background. A request left unacknowledged while it waits for a
    /// free slot would hold a place in this connection's receive window; a flood of them fills the window, and the answers
    /// to this service's own requests (which a handler may be waiting for, as the Policy waits for Storage) queue behind
    /// them until everything times out. Nothing is lost by acknowledging early: the session is not kept, so the broker would
    /// not send an unacknowledged request again anyway, and a request that is not answered ends in its requester's timeout.
    /// Beyond <see cref="MqttMessagingOptions.MaxWaitingRequests"/> waiting, a request is answered at once with an error, so the requester learns
    /// that this service is overloaded instead of timing out.
    /// </summary>
    private async Task AcceptRequestAsync(Inbound inbound, string requestType)
    {
        await AcknowledgeAsync(inbound).ConfigureAwait(false);
        if (Interlocked.Increment(ref waitingRequests) > options.MaxWaitingRequests)
        {
            Interlocked.Decrement(ref waitingRequests);
            _ = Task.Run(() => RefuseAsync(inbound, requestType, $"{options.ServiceName} is overloaded: more than {options.MaxWaitingRequests} requests are waiting; try again later."));
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await AnswerAsync(inbound, requestType).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref waitingRequests);
            }
        });
    }

    private Task OnBusMessageAsync(MqttConnection connection, MqttApplicationMessageReceivedEventArgs e)
    {
        // Acknowledge only once handled: a message this process dies holding is sent again by the broker.
        e.AutoAcknowledge = false;
        var inbound = new Inbound(e, connection);
        string topic = e.ApplicationMessage.Topic;
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

    private static bool IsStale(Inbound inbound) => inbound.Connection.Persistent && inbound.Generation != inbound.Connection.Generation;

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
            await busConnection.SendAsync(message, $"dead letter of {letter.MessageType}", stopping.Token).ConfigureAwait(false);
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
            if (!CanBeAnswered(request))
            {
                var letter = new DeadLetter("(request)", requestType, inbound.Property(MqttWire.KeyProperty), inbound.Property(MqttWire.PartitionKeyProperty),
                    $"Rejected {requestType}: no response topic under {MqttTopics.Response("…")} or no correlation data.", 1, DateTimeOffset.UtcNow, inbound.PayloadText);
                await ParkAsync(letter, inbound).ConfigureAwait(false);
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
                    return; // Stopping: the requester times out (or asks again and another replica answers).
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

            await requestConnection.SendAsync(reply.Build(), $"answer to {requestType}", stopping.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // An answer that cannot be sent is the requester's timeout, not this service's crash.
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

    /// <summary>A request with correlation data and a response topic under <c>hearttwin/resp/</c>: an answer must not land on the bus.</summary>
    private static bool CanBeAnswered(MqttApplicationMessage request) =>
        request.ResponseTopic is { } replyTo && replyTo.StartsWith(MqttTopics.Response(string.Empty), StringComparison.Ordinal) && request.CorrelationData is not null;

    private async Task RefuseAsync(Inbound inbound, string requestType, string error)
    {
        var request = inbound.Message;
        if (!CanBeAnswered(request))
        {
            return;
        }

        string replyTo = request.ResponseTopic;

        try
        {
            var reply = NewMessage(replyTo, "(error)", []).WithCorrelationData(request.CorrelationData).WithText(MqttWire.ErrorProperty, error);
            await requestConnection.SendAsync(reply.Build(), $"refusal of {requestType}", stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MessageDeliveryException or OperationCanceledException)
        {
            LogRequestFailed(requestType, ex);
        }
    }

    private async Task AcknowledgeAsync(Inbound inbound)
    {
        if (IsStale(inbound) || !inbound.Connection.IsConnected)
        {
            return; // Acknowledging on another connection would be wrong; the broker sends it again and handlers are idempotent.
        }

        try
        {
            await inbound.Args.AcknowledgeAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (MqttConnection.IsTransient(ex))
        {
            LogAckFailed(inbound.Message.Topic, ex);
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

        var loops = consumers.Values.Select(c => c.Loop).Append(busConnection.Loop).Append(requestConnection.Loop);
        await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        await Task.WhenAll(busConnection.DisconnectAsync(), requestConnection.DisconnectAsync()).ConfigureAwait(false);

        foreach (var waiting in pendingRequests.Values)
        {
            waiting.TrySetException(new MessageDeliveryException("The bus stopped before the answer came."));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        busConnection.Dispose();
        requestConnection.Dispose();
        requestSlots.Dispose();
    }

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

    /// <summary>A received message, with the connection (and its generation) it came on.</summary>
    private sealed class Inbound(MqttApplicationMessageReceivedEventArgs args, MqttConnection connection)
    {
        public MqttApplicationMessageReceivedEventArgs Args { get; } = args;

        public MqttApplicationMessage Message => Args.ApplicationMessage;

        /// <summary>The connection it came on; it can be acknowledged only there.</summary>
        public MqttConnection Connection { get; } = connection;

        public long Generation { get; } = connection.Generation;

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
