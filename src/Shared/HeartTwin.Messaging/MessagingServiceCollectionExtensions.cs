using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeartTwin.Messaging;

/// <summary>A registered subscription: which handler receives which message type.</summary>
/// <param name="MessageType">The message type.</param>
/// <param name="HandlerType">The handler's concrete type (registered as a singleton).</param>
/// <param name="Invoke">Calls the handler.</param>
/// <param name="Delivery">How the subscription is delivered to (null: <see cref="SubscriptionDelivery.Default"/>).</param>
public sealed record SubscriptionDescriptor(Type MessageType, Type HandlerType, Func<object, object, MessageContext, CancellationToken, Task> Invoke,
    SubscriptionDelivery? Delivery = null)
{
    /// <summary>The delivery options in force.</summary>
    public SubscriptionDelivery EffectiveDelivery => Delivery ?? SubscriptionDelivery.Default;
}

/// <summary>
/// How one subscription receives its messages. The defaults (ordered per patient, awaited by the publisher) suit a handler
/// that keeps per-stream state and whose work is part of the publisher's guarantee. The two relaxations exist because
/// serialising everything per patient and waiting for everything couples the device's acknowledgement to the slowest
/// block (see docs/twin-architecture.md, "What an acknowledgement waits for").
/// </summary>
public sealed record SubscriptionDelivery
{
    /// <summary>Ordered per patient, awaited by the publisher.</summary>
    public static SubscriptionDelivery Default { get; } = new();

    /// <summary>
    /// True (default): a patient's messages reach the handler one at a time, in publication order. False: the handler is
    /// called for up to <see cref="MaxConcurrency"/> messages at once in any order; for idempotent keyed writes, where
    /// order carries no meaning and concurrency lets a group commit gather many writers.
    /// </summary>
    public bool Ordered { get; init; } = true;

    /// <summary>Concurrent calls of an unordered subscription (ignored when ordered).</summary>
    public int MaxConcurrency { get; init; } = 64;

    /// <summary>
    /// True (default): <see cref="IMessageBus.PublishAsync"/> completes only once this subscriber has handled the message.
    /// False: the publisher waits only for room in this subscriber's queue (back-pressure is kept), not for its work;
    /// for downstream work that is not part of what the publisher promises (analysis and live views of samples whose
    /// durability the Storage subscriber alone provides). Failures still retry and then park in the dead letters.
    /// </summary>
    public bool AwaitedByPublisher { get; init; } = true;

    /// <summary>
    /// Capacity of each of this subscription's queues, in messages (null: <c>Messaging:QueueCapacity</c>). For a subscriber
    /// the publisher does not await, this bounds how far it may fall behind before publishers are slowed down.
    /// </summary>
    public int? QueueCapacity { get; init; }
}

/// <summary>
/// A registered request handler: which handler answers which request type with which response type. A distributed
/// transport reads these to know which requests this process answers and which types it may read off the wire.
/// </summary>
/// <param name="RequestType">The request type.</param>
/// <param name="ResponseType">The response type.</param>
/// <param name="HandlerType">The handler's concrete type (registered as a singleton).</param>
/// <param name="Invoke">Calls the handler and returns its answer.</param>
public sealed record RequestHandlerDescriptor(Type RequestType, Type ResponseType, Type HandlerType, Func<object, object, CancellationToken, Task<object>> Invoke);

/// <summary>Registration of the bus and of handlers.</summary>
public static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the bus with the transport that <c>Messaging:Transport</c> names. This library provides "InMemory";
    /// a host that wants "Mqtt" also calls <c>AddMqttMessaging()</c> from HeartTwin.Messaging.Mqtt, which replaces the bus.
    /// </summary>
    public static IServiceCollection AddMessaging(this IServiceCollection services)
    {
        services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IDeadLetters, InMemoryDeadLetters>();
        services.TryAddSingleton<InMemoryBus>();
        services.TryAddSingleton<IMessageBus>(sp => sp.GetRequiredService<InMemoryBus>());
        return services;
    }

    /// <summary>Subscribes <typeparamref name="THandler"/> (a singleton) to <typeparamref name="TMessage"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="delivery">How the subscription is delivered; null for ordered per patient and awaited by the publisher.</param>
    public static IServiceCollection AddMessageHandler<TMessage, THandler>(this IServiceCollection services, SubscriptionDelivery? delivery = null)
        where TMessage : class where THandler : class, IMessageHandler<TMessage>
    {
        services.TryAddSingleton<THandler>();
        services.AddSingleton(new SubscriptionDescriptor(typeof(TMessage), typeof(THandler),
            static (handler, message, context, ct) => ((THandler)handler).HandleAsync((TMessage)message, context, ct), delivery));
        return services;
    }

    /// <summary>Makes <typeparamref name="THandler"/> (a singleton) the answer to <typeparamref name="TRequest"/>.</summary>
    public static IServiceCollection AddRequestHandler<TRequest, TResponse, THandler>(this IServiceCollection services)
        where TRequest : class where TResponse : class where THandler : class, IRequestHandler<TRequest, TResponse>
    {
        services.TryAddSingleton<THandler>();
        services.AddSingleton<IRequestHandler<TRequest, TResponse>>(sp => sp.GetRequiredService<THandler>());
        services.AddSingleton(new RequestHandlerDescriptor(typeof(TRequest), typeof(TResponse), typeof(THandler),
            static async (handler, request, ct) => await ((THandler)handler).HandleAsync((TRequest)request, ct).ConfigureAwait(false)));
        return services;
    }
}
