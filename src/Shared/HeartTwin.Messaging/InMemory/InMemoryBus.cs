using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Threading.Channels;
using HeartTwin.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Messaging.InMemory;

/// <summary>
/// The in-process transport. Every subscription owns N bounded single-reader queues (partitions); a patient's messages
/// always go to the same one, so a handler sees each patient's messages in publication order. A publish completes when
/// every awaited subscriber has handled the message (in process, that is the only durable point there is). An unordered
/// subscription (<see cref="SubscriptionDelivery.Ordered"/> false) has one queue read by several workers instead; a
/// subscriber the publisher does not await (<see cref="SubscriptionDelivery.AwaitedByPublisher"/> false) only has to
/// accept the message into its bounded queue.
/// </summary>
public sealed partial class InMemoryBus : IMessageBus, IAsyncDisposable
{
    private readonly IServiceProvider services;
    private readonly IDeadLetters deadLetters;
    private readonly MessagingOptions options;
    private readonly ILogger<InMemoryBus> logger;
    private readonly FrozenDictionary<Type, Subscription[]> subscriptions;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<Task> workers = [];
    private long published;
    private long inFlight;
    private int disposed;

    /// <summary>Creates the bus and starts one worker per partition of every registered subscription.</summary>
    public InMemoryBus(IServiceProvider services, IEnumerable<SubscriptionDescriptor> descriptors, IDeadLetters deadLetters,
        IOptions<MessagingOptions> options, ILogger<InMemoryBus> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.services = services;
        this.deadLetters = deadLetters;
        this.options = options.Value;
        this.logger = logger;
        int partitions = this.options.Partitions > 0 ? this.options.Partitions : Math.Max(2, 2 * Environment.ProcessorCount);

        var byType = new Dictionary<Type, List<Subscription>>();
        foreach (var descriptor in descriptors.DistinctBy(d => (d.MessageType, d.HandlerType)))
        {
            var delivery = descriptor.EffectiveDelivery;
            int queues = delivery.Ordered ? partitions : 1;
            int capacity = delivery.QueueCapacity ?? this.options.QueueCapacity;
            var subscription = new Subscription(descriptor, queues, capacity * (delivery.Ordered ? 1 : partitions), delivery.Ordered);
            if (!byType.TryGetValue(descriptor.MessageType, out var list))
            {
                byType[descriptor.MessageType] = list = [];
            }

            list.Add(subscription);
            for (int p = 0; p < queues; p++)
            {
                var queue = subscription.Queues[p];
                int readers = delivery.Ordered ? 1 : Math.Max(1, delivery.MaxConcurrency);
                for (int r = 0; r < readers; r++)
                {
                    workers.Add(Task.Run(() => RunPartitionAsync(subscription, queue.Reader)));
                }
            }
        }

        subscriptions = byType.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray());
    }

    /// <summary>Messages published since start.</summary>
    public long Published => Interlocked.Read(ref published);

    /// <summary>Deliveries queued or running now, across every subscription.</summary>
    public long InFlight => Interlocked.Read(ref inFlight);

    /// <summary>
    /// Completes once nothing is queued or being handled, including what handlers published meanwhile (a handler's own
    /// publications are counted before its delivery ends). For tests and orderly shutdown: with subscribers the publisher
    /// does not await, a publish returning no longer means that all its consequences have happened.
    /// </summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        while (Interlocked.Read(ref inFlight) > 0)
        {
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task PublishAsync<TMessage>(TMessage message, CancellationToken cancellationToken = default) where TMessage : class
    {
        ArgumentNullException.ThrowIfNull(message);
        Interlocked.Increment(ref published);
        if (!subscriptions.TryGetValue(message.GetType(), out var targets))
        {
            return;
        }

        string? partitionKey = (message as IPatientMessage)?.PatientId;
        var context = new MessageContext(Guid.NewGuid().ToString("N"), (message as IKeyedMessage)?.MessageKey, partitionKey, 1, DateTimeOffset.UtcNow);
        if (targets.Length == 1)
        {
            await EnqueueAsync(targets[0], message, context, cancellationToken).ConfigureAwait(false);
            return;
        }

        var pending = new Task[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            pending[i] = EnqueueAsync(targets[i], message, context, cancellationToken);
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<TResponse> RequestAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(request);
        var handler = services.GetService<IRequestHandler<TRequest, TResponse>>()
            ?? throw new NoHandlerException($"No handler answers {typeof(TRequest).Name} with {typeof(TResponse).Name}; is its block composed into this host?");
        return handler.HandleAsync(request, cancellationToken);
    }

    private async Task EnqueueAsync(Subscription target, object message, MessageContext context, CancellationToken cancellationToken)
    {
        var envelope = new Envelope(message, context, target.Awaited);
        var queue = target.Queues.Length == 1 ? target.Queues[0] : target.Queues[PartitionOf(context.PartitionKey, target.Queues.Length)];
        Interlocked.Increment(ref inFlight);
        if (!queue.Writer.TryWrite(envelope))
        {
            try
            {
                await queue.Writer.WriteAsync(envelope, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Interlocked.Decrement(ref inFlight);
                throw;
            }
        }

        if (envelope.Completion is not null)
        {
            await envelope.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stable partition of a key (FNV-1a, not string.GetHashCode, which differs between processes).</summary>
    internal static int PartitionOf(string? key, int partitions)
    {
        if (key is null)
        {
            return Random.Shared.Next(partitions);
        }

        uint hash = 2166136261;
        foreach (char c in key)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)(hash % (uint)partitions);
    }

    private async Task RunPartitionAsync(Subscription subscription, ChannelReader<Envelope> reader)
    {
        // Handlers are resolved here, not in the constructor: they depend on the bus themselves.
        object handler;
        try
        {
            handler = services.GetRequiredService(subscription.Descriptor.HandlerType);
        }
        catch (ObjectDisposedException)
        {
            return; // The container is being disposed before this worker started: nothing to deliver.
        }

        try
        {
            while (await reader.WaitToReadAsync(stopping.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var envelope))
                {
                    try
                    {
                        await DeliverAsync(subscription, handler, envelope).ConfigureAwait(false);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref inFlight);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down; publishers still waiting are cancelled by their own tokens or the host's stop.
        }
    }

    private async Task DeliverAsync(Subscription subscription, object handler, Envelope envelope)
    {
        Exception? last = null;
        int delay = options.RetryDelayMs;
        for (int attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            try
            {
                var context = attempt == 1 ? envelope.Context : envelope.Context with { Attempt = attempt };
                await subscription.Descriptor.Invoke(handler, envelope.Message, context, stopping.Token).ConfigureAwait(false);
                envelope.Completion?.TrySetResult();
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                envelope.Completion?.TrySetCanceled(stopping.Token);
                return;
            }
#pragma warning disable CA1031 // A handler's failure of any kind is retried and then parked; the bus must keep running.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                last = ex;
                LogHandlerFailed(subscription.Name, envelope.Message.GetType().Name, envelope.Context.MessageKey, attempt, ex);
                if (attempt < options.MaxAttempts && delay > 0)
                {
                    try
                    {
                        await Task.Delay(delay, stopping.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        envelope.Completion?.TrySetCanceled(stopping.Token);
                        return;
                    }

                    delay = Math.Min(delay * 2, 5_000);
                }
            }
        }

        deadLetters.Park(new DeadLetter(subscription.Name, envelope.Message.GetType().Name, envelope.Context.MessageKey,
            envelope.Context.PartitionKey, last?.Message ?? "unknown", options.MaxAttempts, DateTimeOffset.UtcNow, envelope.Message));
        envelope.Completion?.TrySetException(new MessageDeliveryException(
            $"{subscription.Name} failed to handle {envelope.Message.GetType().Name} {envelope.Context.MessageKey} after {options.MaxAttempts} attempts: {last?.Message}", last));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container may dispose the bus twice (as InMemoryBus and as IMessageBus).
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        foreach (var list in subscriptions.Values)
        {
            foreach (var s in list)
            {
                foreach (var q in s.Queues)
                {
                    q.Writer.TryComplete();
                }
            }
        }

        // Let queued messages drain briefly, then stop whatever is still running.
        await Task.WhenAny(Task.WhenAll(workers), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        await stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Shutdown must finish whatever a worker died of; it was logged where it happened.
        catch (Exception)
#pragma warning restore CA1031
        {
            // Expected on shutdown (cancellation).
        }

        stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription} failed on {MessageType} {MessageKey} (attempt {Attempt})")]
    private partial void LogHandlerFailed(string subscription, string messageType, string? messageKey, int attempt, Exception exception);

    private sealed class Subscription
    {
        public Subscription(SubscriptionDescriptor descriptor, int partitions, int capacity, bool ordered)
        {
            Descriptor = descriptor;
            Name = descriptor.HandlerType.Name;
            Awaited = descriptor.EffectiveDelivery.AwaitedByPublisher;
            Queues = new Channel<Envelope>[partitions];
            for (int i = 0; i < partitions; i++)
            {
                Queues[i] = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(capacity)
                {
                    SingleReader = ordered,
                    FullMode = BoundedChannelFullMode.Wait,
                });
            }
        }

        public SubscriptionDescriptor Descriptor { get; }

        public string Name { get; }

        public bool Awaited { get; }

        public Channel<Envelope>[] Queues { get; }
    }

    private sealed class Envelope(object message, MessageContext context, bool awaited)
    {
        public object Message { get; } = message;

        public MessageContext Context { get; } = context;

        /// <summary>Completed when the handler is done; null when no publisher waits for it (nothing would observe a failure).</summary>
        public TaskCompletionSource? Completion { get; } = awaited ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;
    }
}

/// <summary>Parked messages, kept in memory (bounded to the latest 10,000).</summary>
public sealed class InMemoryDeadLetters : IDeadLetters
{
    private const int Capacity = 10_000;
    private readonly ConcurrentQueue<DeadLetter> letters = new();

    /// <inheritdoc />
    public int Count => letters.Count;

    /// <inheritdoc />
    public void Park(DeadLetter letter)
    {
        letters.Enqueue(letter);
        while (letters.Count > Capacity && letters.TryDequeue(out _))
        {
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<DeadLetter> Snapshot() => [.. letters];
}
