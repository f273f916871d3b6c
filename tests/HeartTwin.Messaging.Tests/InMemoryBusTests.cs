using System.Collections.Concurrent;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Messaging.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Messaging.Tests;

public sealed record Ping(string PatientId, int N) : IPatientMessage, IKeyedMessage
{
    public string MessageKey => $"{PatientId}:{N}";
}

public sealed record Unpartitioned(int N);

public sealed record Question(int X);

public sealed record Answer(int Y);

public sealed class Recorder : IMessageHandler<Ping>
{
    public ConcurrentDictionary<string, ConcurrentQueue<int>> Seen { get; } = new();

    public async Task HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken)
    {
        // Yield so that partitions interleave: order must still hold per patient.
        await Task.Yield();
        Seen.GetOrAdd(message.PatientId, _ => new()).Enqueue(message.N);
    }
}

public sealed class Flaky : IMessageHandler<Ping>
{
    public int FailuresLeft { get; set; }

    public List<int> Attempts { get; } = [];

    public Task HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken)
    {
        Attempts.Add(context.Attempt);
        if (FailuresLeft-- > 0)
        {
            throw new InvalidOperationException("transient");
        }

        return Task.CompletedTask;
    }
}

public sealed class Gate : IMessageHandler<Unpartitioned>
{
    public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int handled;

    public int Handled => Volatile.Read(ref handled);

    public async Task HandleAsync(Unpartitioned message, MessageContext context, CancellationToken cancellationToken)
    {
        await Open.Task.WaitAsync(cancellationToken);
        Interlocked.Increment(ref handled);
    }
}

public sealed class Overlap : IMessageHandler<Ping>
{
    private int inside;

    public int MostAtOnce { get; private set; }

    public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref inside);
        lock (this)
        {
            MostAtOnce = Math.Max(MostAtOnce, now);
        }

        await Open.Task.WaitAsync(cancellationToken);
        Interlocked.Decrement(ref inside);
    }
}

public sealed class AlwaysFails : IMessageHandler<Ping>
{
    public Task HandleAsync(Ping message, MessageContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("downstream is broken");
}

public sealed class Doubler : IRequestHandler<Question, Answer>
{
    public Task<Answer> HandleAsync(Question request, CancellationToken cancellationToken) => Task.FromResult(new Answer(request.X * 2));
}

public sealed class InMemoryBusTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure, params (string Key, string Value)[] settings)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(config);
        services.AddMessaging();
        configure(services);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Each_patients_messages_reach_the_handler_in_publication_order()
    {
        await using var sp = Build(s => s.AddMessageHandler<Ping, Recorder>(), ("Messaging:Partitions", "4"));
        var bus = sp.GetRequiredService<IMessageBus>();
        var patients = Enumerable.Range(0, 16).Select(i => $"p{i}").ToArray();
        var publishers = patients.Select(p => Task.Run(async () =>
        {
            for (int n = 0; n < 200; n++)
            {
                await bus.PublishAsync(new Ping(p, n));
            }
        }));
        await Task.WhenAll(publishers);

        var seen = sp.GetRequiredService<Recorder>().Seen;
        foreach (var p in patients)
        {
            seen[p].ToArray().ShouldBe(Enumerable.Range(0, 200).ToArray());
        }
    }

    [Fact]
    public async Task Publish_completes_only_after_the_handler_ran()
    {
        await using var sp = Build(s => s.AddMessageHandler<Unpartitioned, Gate>());
        var bus = sp.GetRequiredService<IMessageBus>();
        var gate = sp.GetRequiredService<Gate>();
        var publish = bus.PublishAsync(new Unpartitioned(1));
        await Task.Delay(100);
        publish.IsCompleted.ShouldBeFalse();
        gate.Open.SetResult();
        await publish.WaitAsync(TimeSpan.FromSeconds(5));
        gate.Handled.ShouldBe(1);
    }

    [Fact]
    public async Task A_failing_handler_is_retried_with_the_attempt_number()
    {
        await using var sp = Build(s => s.AddMessageHandler<Ping, Flaky>(), ("Messaging:RetryDelayMs", "1"));
        sp.GetRequiredService<Flaky>().FailuresLeft = 2;
        await sp.GetRequiredService<IMessageBus>().PublishAsync(new Ping("p", 1));
        sp.GetRequiredService<Flaky>().Attempts.ShouldBe([1, 2, 3]);
        sp.GetRequiredService<IDeadLetters>().Count.ShouldBe(0);
    }

    [Fact]
    public async Task A_message_that_fails_every_attempt_is_parked_and_the_publisher_is_told()
    {
        await using var sp = Build(s => s.AddMessageHandler<Ping, Flaky>(), ("Messaging:RetryDelayMs", "1"), ("Messaging:MaxAttempts", "3"));
        sp.GetRequiredService<Flaky>().FailuresLeft = 100;
        var bus = sp.GetRequiredService<IMessageBus>();
        var ex = await Should.ThrowAsync<MessageDeliveryException>(() => bus.PublishAsync(new Ping("p", 7)));
        ex.Message.ShouldContain("p:7");
        var parked = sp.GetRequiredService<IDeadLetters>().Snapshot().ShouldHaveSingleItem();
        parked.MessageKey.ShouldBe("p:7");
        parked.Attempts.ShouldBe(3);
        parked.Message.ShouldBe(new Ping("p", 7));

        // The bus keeps running after parking.
        sp.GetRequiredService<Flaky>().FailuresLeft = 0;
        await bus.PublishAsync(new Ping("p", 8));
    }

    [Fact]
    public async Task A_full_queue_makes_the_publisher_wait_instead_of_growing()
    {
        await using var sp = Build(s => s.AddMessageHandler<Unpartitioned, Gate>(), ("Messaging:Partitions", "1"), ("Messaging:QueueCapacity", "2"));
        var bus = sp.GetRequiredService<IMessageBus>();
        var gate = sp.GetRequiredService<Gate>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        // One in the handler, two queued: the fourth cannot even be enqueued.
        var first = Enumerable.Range(0, 3).Select(i => bus.PublishAsync(new Unpartitioned(i))).ToList();
        await Task.Delay(50);
        await Should.ThrowAsync<OperationCanceledException>(() => bus.PublishAsync(new Unpartitioned(99), cts.Token));
        gate.Open.SetResult();
        await Task.WhenAll(first).WaitAsync(TimeSpan.FromSeconds(5));
        gate.Handled.ShouldBe(3);
    }

    [Fact]
    public async Task A_message_with_no_subscriber_is_accepted()
    {
        await using var sp = Build(_ => { });
        await sp.GetRequiredService<IMessageBus>().PublishAsync(new Unpartitioned(1));
    }

    [Fact]
    public async Task A_request_is_answered_by_its_handler()
    {
        await using var sp = Build(s => s.AddRequestHandler<Question, Answer, Doubler>());
        var answer = await sp.GetRequiredService<IMessageBus>().RequestAsync<Question, Answer>(new Question(21));
        answer.Y.ShouldBe(42);
    }

    [Fact]
    public async Task A_request_without_a_handler_names_what_is_missing()
    {
        await using var sp = Build(_ => { });
        var ex = await Should.ThrowAsync<NoHandlerException>(() => sp.GetRequiredService<IMessageBus>().RequestAsync<Question, Answer>(new Question(1)));
        ex.Message.ShouldContain(nameof(Question));
    }

    [Fact]
    public void Partitions_are_stable_across_processes()
    {
        // FNV-1a of "patient-1" is fixed; string.GetHashCode would differ between runs.
        InMemoryBus.PartitionOf("patient-1", 1024).ShouldBe(InMemoryBus.PartitionOf("patient-1", 1024));
        InMemoryBus.PartitionOf("a", 16).ShouldBe((int)(unchecked((2166136261u ^ 'a') * 16777619u) % 16u));
    }

    [Fact]
    public async Task An_unordered_subscription_handles_one_patients_messages_concurrently()
    {
        await using var sp = Build(s => s.AddMessageHandler<Ping, Overlap>(new SubscriptionDelivery { Ordered = false, MaxConcurrency = 8 }),
            ("Messaging:Partitions", "1"));
        var bus = sp.GetRequiredService<IMessageBus>();
        var overlap = sp.GetRequiredService<Overlap>();

        var publishes = Enumerable.Range(0, 20).Select(i => bus.PublishAsync(new Ping("p", i))).ToList();

        // Wait for the handlers to start rather than sleeping a fixed time: a loaded CI machine once needed more than 200 ms.
        await Eventually(() => overlap.MostAtOnce >= 8);
        await Task.Delay(100); // Room for a ninth to start if the cap were broken.
        overlap.MostAtOnce.ShouldBe(8); // An ordered subscription would hold this patient to one at a time.
        overlap.Open.SetResult();
        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_publisher_does_not_wait_for_a_subscriber_it_does_not_await_but_the_message_still_arrives()
    {
        await using var sp = Build(s => s
            .AddMessageHandler<Ping, Recorder>()
            .AddMessageHandler<Ping, Overlap>(new SubscriptionDelivery { AwaitedByPublisher = false }));
        var bus = sp.GetRequiredService<IMessageBus>();
        var overlap = sp.GetRequiredService<Overlap>();

        // The detached handler is blocked, yet the publish completes once the awaited Recorder has the message.
        await bus.PublishAsync(new Ping("p", 1)).WaitAsync(TimeSpan.FromSeconds(5));
        sp.GetRequiredService<Recorder>().Seen["p"].ShouldBe([1]);
        await Eventually(() => overlap.MostAtOnce >= 1);
        overlap.MostAtOnce.ShouldBe(1);
        overlap.Open.SetResult();
    }

    [Fact]
    public async Task A_detached_subscribers_failure_is_parked_without_failing_the_publisher()
    {
        await using var sp = Build(s => s.AddMessageHandler<Ping, AlwaysFails>(new SubscriptionDelivery { AwaitedByPublisher = false }),
            ("Messaging:MaxAttempts", "2"), ("Messaging:RetryDelayMs", "1"));
        var bus = sp.GetRequiredService<IMessageBus>();
        var dead = sp.GetRequiredService<IDeadLetters>();

        await bus.PublishAsync(new Ping("p", 3));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (dead.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var parked = dead.Snapshot().ShouldHaveSingleItem();
        parked.Subscription.ShouldBe(nameof(AlwaysFails));
        parked.Attempts.ShouldBe(2);
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
    }
}
