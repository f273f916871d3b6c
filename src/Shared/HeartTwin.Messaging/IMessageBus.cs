namespace HeartTwin.Messaging;

/// <summary>The bus blocks talk through. Implementations: in process (<see cref="InMemory.InMemoryBus"/>) and MQTT.</summary>
public interface IMessageBus
{
    /// <summary>
    /// Publishes an event or command to every subscriber. Completes once the transport guarantees delivery
    /// (in process: once every subscriber has handled it).
    /// </summary>
    /// <exception cref="MessageDeliveryException">A subscriber failed after all its attempts (the message is parked in the dead letters).</exception>
    Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class;

    /// <summary>Sends a request to its single handler and returns the answer.</summary>
    /// <exception cref="NoHandlerException">No handler is registered for <typeparamref name="TRequest"/>.</exception>
    Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class;
}

/// <summary>Handles one message type. Must be idempotent: delivery is at least once.</summary>
/// <typeparam name="TMessage">The message type.</typeparam>
public interface IMessageHandler<in TMessage> where TMessage : class
{
    /// <summary>Handles a message. Throwing makes the bus retry it.</summary>
    Task HandleAsync(TMessage message, MessageContext context, CancellationToken cancellationToken);
}

/// <summary>Answers one request type.</summary>
public interface IRequestHandler<in TRequest, TResponse> where TRequest : class where TResponse : class
{
    /// <summary>Answers a request.</summary>
    Task<TResponse> HandleAsync(TRequest request, CancellationToken cancellationToken);
}

/// <summary>Delivery details handed to a handler.</summary>
/// <param name="MessageId">Unique id of this publication.</param>
/// <param name="MessageKey">The message's stable key (<c>IKeyedMessage.MessageKey</c>), or null when it has none.</param>
/// <param name="PartitionKey">The patient id the message was partitioned by, or null.</param>
/// <param name="Attempt">1 on first delivery, then 2, 3 … on retries.</param>
/// <param name="PublishedAt">UTC time of publication.</param>
public sealed record MessageContext(string MessageId, string? MessageKey, string? PartitionKey, int Attempt, DateTimeOffset PublishedAt);

/// <summary>A subscriber failed to handle a message after every attempt.</summary>
public sealed class MessageDeliveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessageDeliveryException(string message, Exception? inner = null) : base(message, inner) { }
    /// <summary>Creates the exception.</summary>
    public MessageDeliveryException() { }
    /// <summary>Creates the exception.</summary>
    public MessageDeliveryException(string message) : base(message) { }
}

/// <summary>A request was sent with no handler registered for it.</summary>
public sealed class NoHandlerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NoHandlerException(string message) : base(message) { }
    /// <summary>Creates the exception.</summary>
    public NoHandlerException() { }
    /// <summary>Creates the exception.</summary>
    public NoHandlerException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A message a subscriber gave up on.</summary>
/// <param name="Subscription">Handler that failed.</param>
/// <param name="MessageType">Message type name.</param>
/// <param name="MessageKey">Its key, if any.</param>
/// <param name="PartitionKey">Its partition key, if any.</param>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="ParkedAt">UTC time it was parked.</param>
/// <param name="Message">The message itself, so that it can be inspected and replayed.</param>
public sealed record DeadLetter(string Subscription, string MessageType, string? MessageKey, string? PartitionKey, string Error, int Attempts, DateTimeOffset ParkedAt, object Message);

/// <summary>Messages parked after their handler failed every attempt.</summary>
public interface IDeadLetters
{
    /// <summary>How many messages are parked.</summary>
    int Count { get; }
    /// <summary>A snapshot of the parked messages, oldest first.</summary>
    IReadOnlyList<DeadLetter> Snapshot();
    /// <summary>Parks a message.</summary>
    void Park(DeadLetter letter);
}
