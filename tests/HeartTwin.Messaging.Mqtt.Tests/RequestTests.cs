using System.Collections.Concurrent;
using HeartTwin.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Messaging.Mqtt.Tests;

public sealed record SlowQuery(int X);
public sealed record SlowAnswer(int Y);
public sealed record BrokenQuery(int X);
public sealed record BrokenAnswer(int Y);
public sealed record UnansweredQuery(int X);
public sealed record UnansweredAnswer(int Y);
public sealed record WhoQuery(int X);
public sealed record WhoAnswer(int Replica);

public sealed class VitalsAnswerer : IRequestHandler<VitalsQuery, VitalsResult>
{
    public Task<VitalsResult> HandleAsync(VitalsQuery request, CancellationToken cancellationToken) =>
        Task.FromResult(new VitalsResult([("cuff-1", new VitalObservation(VitalCodes.SystolicPressure, 121, "mm[Hg]", request.From))]));
}

public sealed class SlowAnswerer : IRequestHandler<SlowQuery, SlowAnswer>
{
    public async Task<SlowAnswer> HandleAsync(SlowQuery request, CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return new SlowAnswer(request.X);
    }
}

public sealed class BrokenAnswerer : IRequestHandler<BrokenQuery, BrokenAnswer>
{
    public Task<BrokenAnswer> HandleAsync(BrokenQuery request, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("the database is read-only");
}

public sealed class WhoAnswerer(ReplicaTag replica) : IRequestHandler<WhoQuery, WhoAnswer>
{
    public Task<WhoAnswer> HandleAsync(WhoQuery request, CancellationToken cancellationToken) => Task.FromResult(new WhoAnswer(replica.Index));
}

/// <summary>Holds every <see cref="Reading"/> until the test opens the gate: a service whose bus handlers are busy.</summary>
public sealed class HeldReadings
{
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int holding;

    public int Holding => Volatile.Read(ref holding);

    public void Hold() => Interlocked.Increment(ref holding);
}

public sealed class HoldingCollector(HeldReadings held, Sink sink, ReplicaTag replica) : IMessageHandler<Reading>
{
    public async Task HandleAsync(Reading message, MessageContext context, CancellationToken cancellationToken)
    {
        held.Hold();
        await held.Gate.Task.WaitAsync(cancellationToken);
        sink.Seen.Enqueue((message.PatientId, message.N, replica.Index, context));
    }
}

public sealed record OuterQuery(int X);
public sealed record OuterAnswer(int Observations);

/// <summary>Answers by asking another service first, as the Policy asks Storage where the audit trail ends.</summary>
public sealed class RelayingAnswerer(IMessageBus bus) : IRequestHandler<OuterQuery, OuterAnswer>
{
    public async Task<OuterAnswer> HandleAsync(OuterQuery request, CancellationToken cancellationToken)
    {
        var from = DateTimeOffset.UtcNow;
        var inner = await bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery("p-1", from, from.AddHours(1)), cancellationToken);
        return new OuterAnswer(inner.Observations.Count);
    }
}

public sealed class RequestTests
{
    private static void Storage(IServiceCollection s) => s
        .AddRequestHandler<VitalsQuery, VitalsResult, VitalsAnswerer>()
        .AddRequestHandler<SlowQuery, SlowAnswer, SlowAnswerer>()
        .AddRequestHandler<BrokenQuery, BrokenAnswer, BrokenAnswerer>();

    [Fact]
    public async Task A_request_is_answered_by_the_service_that_handles_it()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage);
        await using var sharing = await TestService.StartAsync(broker, "sharing");
        var from = DateTimeOffset.UtcNow;

        var result = await sharing.Bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery("p-1", from, from.AddHours(1)));

        var (device, observation) = result.Observations.ShouldHaveSingleItem();
        device.ShouldBe("cuff-1");
        observation.Value.ShouldBe(121);
        observation.Time.ShouldBe(from);
    }

    [Fact]
    public async Task A_request_with_no_answer_in_time_fails_with_a_timeout_that_names_it()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage);
        await using var sharing = await TestService.StartAsync(broker, "sharing", settings: new Dictionary<string, string?> { ["Messaging:Mqtt:RequestTimeoutMs"] = "800" });

        var error = await Should.ThrowAsync<TimeoutException>(() => sharing.Bus.RequestAsync<SlowQuery, SlowAnswer>(new SlowQuery(1)));
        error.Message.ShouldContain("No answer to SlowQuery within 800 ms");
    }

    [Fact]
    public async Task A_request_nobody_subscribes_to_fails_at_once_with_no_handler()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var sharing = await TestService.StartAsync(broker, "sharing");

        var error = await Should.ThrowAsync<NoHandlerException>(() => sharing.Bus.RequestAsync<UnansweredQuery, UnansweredAnswer>(new UnansweredQuery(1)));
        error.Message.ShouldContain("hearttwin/req/UnansweredQuery");
    }

    [Fact]
    public async Task A_handler_failure_comes_back_to_the_requester_as_a_delivery_error()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage);
        await using var sharing = await TestService.StartAsync(broker, "sharing");

        var error = await Should.ThrowAsync<MessageDeliveryException>(() => sharing.Bus.RequestAsync<BrokenQuery, BrokenAnswer>(new BrokenQuery(1)));
        error.Message.ShouldContain("the database is read-only");
        error.Message.ShouldContain("storage");
    }

    [Fact]
    public async Task A_request_beyond_the_waiting_limit_is_refused_at_once_as_overloaded()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage, settings: new Dictionary<string, string?>
        {
            ["Messaging:Mqtt:MaxConcurrentRequests"] = "1",
            ["Messaging:Mqtt:MaxWaitingRequests"] = "2",
        });
        await using var sharing = await TestService.StartAsync(broker, "sharing");

        // Two requests that are never answered fill the waiting places (one is being answered, one waits for the slot).
        var first = sharing.Bus.RequestAsync<SlowQuery, SlowAnswer>(new SlowQuery(1));
        var second = sharing.Bus.RequestAsync<SlowQuery, SlowAnswer>(new SlowQuery(2));
        await Task.Delay(500);

        var started = DateTime.UtcNow;
        var error = await Should.ThrowAsync<MessageDeliveryException>(() => sharing.Bus.RequestAsync<VitalsQuery, VitalsResult>(
            new VitalsQuery("p-1", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(1))));
        error.Message.ShouldContain("storage is overloaded: more than 2 requests are waiting");
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(10)); // refused, not timed out (30 s)
        first.IsCompleted.ShouldBeFalse();
        second.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Requests_are_spread_across_the_replicas_of_the_answering_service()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var inference0 = await TestService.StartAsync(broker, "inference", s => s.AddRequestHandler<WhoQuery, WhoAnswer, WhoAnswerer>(), 0, 2);
        await using var inference1 = await TestService.StartAsync(broker, "inference", s => s.AddRequestHandler<WhoQuery, WhoAnswer, WhoAnswerer>(), 1, 2);
        await using var agent = await TestService.StartAsync(broker, "agent");
        var answeredBy = new ConcurrentBag<int>();

        for (int i = 0; i < 20; i++)
        {
            answeredBy.Add((await agent.Bus.RequestAsync<WhoQuery, WhoAnswer>(new WhoQuery(i))).Replica);
        }

        answeredBy.Distinct().Order().ShouldBe([0, 1]);
    }

    private static readonly Dictionary<string, string?> SmallWindow = new() { ["Messaging:Mqtt:ReceiveMaximum"] = "4", ["Messaging:Mqtt:RequestTimeoutMs"] = "3000" };

    private static void Holding(IServiceCollection s) => s
        .AddSingleton<HeldReadings>().AddSingleton<Sink>().AddMessageHandler<Reading, HoldingCollector>();

    /// <summary>Fills the service's receive window: readings of many patients, each held by its handler.</summary>
    private static async Task<HeldReadings> FillWindowAsync(TestService publisher, TestService holder)
    {
        for (int i = 0; i < 16; i++)
        {
            await publisher.Bus.PublishAsync(new Reading($"p-{i}", 1));
        }

        var held = holder.Host.Services.GetRequiredService<HeldReadings>();
        await Wait.UntilAsync(() => held.Holding >= 4, "the holder's handlers to hold a full receive window");
        return held;
    }

    [Fact]
    [Trait("Regression", "issue 6: Sharing's requests timed out while its live-sample handlers held the receive window")]
    public async Task A_request_is_answered_while_the_requesters_bus_handlers_hold_its_whole_receive_window()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage);
        await using var sharing = await TestService.StartAsync(broker, "sharing", Holding, settings: SmallWindow);
        var held = await FillWindowAsync(storage, sharing);

        var from = DateTimeOffset.UtcNow;
        var result = await sharing.Bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery("p-1", from, from.AddHours(1)));

        result.Observations.ShouldHaveSingleItem();
        held.Gate.SetResult();
        var sink = sharing.Host.Services.GetRequiredService<Sink>();
        await Wait.UntilAsync(() => sink.Count == 16, "every held reading to be handled once released");
    }

    [Fact]
    [Trait("Regression", "issue 6")]
    public async Task A_request_is_answered_while_the_answering_services_bus_handlers_hold_its_whole_receive_window()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", s => { Storage(s); Holding(s); }, settings: SmallWindow);
        await using var sharing = await TestService.StartAsync(broker, "sharing");
        var held = await FillWindowAsync(sharing, storage);

        var from = DateTimeOffset.UtcNow;
        var result = await sharing.Bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery("p-1", from, from.AddHours(1)));

        result.Observations.ShouldHaveSingleItem();
        held.Gate.SetResult();
    }

    [Fact]
    [Trait("Regression", "issue 6: the Policy's first ShareRequests waited 30 s for Storage's answer queued behind them")]
    public async Task A_service_flooded_with_requests_still_receives_the_answers_to_its_own_requests()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var storage = await TestService.StartAsync(broker, "storage", Storage);
        // One request answered at a time, and a small window: the flood of waiting requests is far larger than the window.
        await using var policy = await TestService.StartAsync(broker, "policy", s => s.AddRequestHandler<OuterQuery, OuterAnswer, RelayingAnswerer>(),
            settings: new Dictionary<string, string?> { ["Messaging:Mqtt:MaxConcurrentRequests"] = "1", ["Messaging:Mqtt:RequestTimeoutMs"] = "5000" });
        await using var sharing = await TestService.StartAsync(broker, "sharing", settings: new Dictionary<string, string?> { ["Messaging:Mqtt:RequestTimeoutMs"] = "20000" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => sharing.Bus.RequestAsync<OuterQuery, OuterAnswer>(new OuterQuery(i))));

        answers.ShouldAllBe(a => a.Observations == 1);
    }
}
