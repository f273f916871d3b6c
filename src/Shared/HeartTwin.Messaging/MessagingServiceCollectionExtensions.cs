using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeartTwin.Messaging;

/// <summary>A registered subscription: which handler receives which message type.</summary>
/// <param name="MessageType">The message type.</param>
/// <param name="HandlerType">The handler's concrete type (registered as a singleton).</param>
/// <param name="Invoke">Calls the handler.</param>
public sealed record SubscriptionDescriptor(Type MessageType, Type HandlerType, Func<object, object, MessageContext, CancellationToken, Task> Invoke);

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
    public static IServiceCollection AddMessageHandler<TMessage, THandler>(this IServiceCollection services)
        where TMessage : class where THandler : class, IMessageHandler<TMessage>
    {
        services.TryAddSingleton<THandler>();
        services.AddSingleton(new SubscriptionDescriptor(typeof(TMessage), typeof(THandler),
            static (handler, message, context, ct) => ((THandler)handler).HandleAsync((TMessage)message, context, ct)));
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
