using HeartTwin.Contracts;

namespace HeartTwin.Actuation.Tests;

public sealed class CommandFlowTests
{
    private static CommandAcknowledged Ack(ActuateDevice sent, string status, string? detail = null) =>
        new(sent.CommandId, sent.DeviceId, sent.PatientId, status, detail, DateTimeOffset.UtcNow);

    [Fact]
    public async Task Allowed_decision_sends_the_command_and_an_accepted_ack_completes_it()
    {
        await using var h = ActuationHarness.Create();
        var decision = ActuationHarness.Decision();

        await h.Bus.PublishAsync(decision);

        var sent = h.Sent.Received.ShouldHaveSingleItem();
        sent.Attempt.ShouldBe(1);
        sent.ActionId.ShouldBe(decision.Proposal.ActionId);
        sent.DeviceId.ShouldBe("d1");
        sent.Command.Name.ShouldBe(DeviceCommands.RaiseAlarm);
        sent.CommandId.ShouldBe(CommandTracker.CommandIdFor(decision.Proposal.ActionId));
        h.Statuses.Received.ShouldHaveSingleItem().Status.ShouldBe("sent");

        await h.Bus.PublishAsync(Ack(sent, "accepted", "beeping"));

        h.Statuses.Received.Select(s => s.Status).ShouldBe(["sent", "acknowledged"]);
        var status = h.Tracker.Get(sent.CommandId)!;
        status.Status.ShouldBe("acknowledged");
        status.Detail.ShouldBe("beeping");
        status.Attempts.ShouldBe(1);

        // Acknowledged: time passing sends nothing more.
        h.Time.Advance(TimeSpan.FromMinutes(5));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Denied_decision_or_alert_without_command_sends_nothing()
    {
        await using var h = ActuationHarness.Create();
        var alertOnly = ActuationHarness.Decision();
        alertOnly = alertOnly with { Proposal = alertOnly.Proposal with { Command = null } };

        await h.Bus.PublishAsync(ActuationHarness.Decision(allowed: false));
        await h.Bus.PublishAsync(alertOnly);
        await h.Bus.PublishAsync(ActuationHarness.Decision(device: null));

        h.Sent.Received.ShouldBeEmpty();
        h.Statuses.Received.ShouldBeEmpty();
    }

    [Fact]
    public async Task Redelivered_decision_does_not_send_the_command_again()
    {
        await using var h = ActuationHarness.Create();
        var decision = ActuationHarness.Decision();

        await h.Bus.PublishAsync(decision);
        await h.Bus.PublishAsync(decision);
        await h.Bus.PublishAsync(decision with { DecidedAt = decision.DecidedAt.AddSeconds(1) });

        h.Sent.Received.Count.ShouldBe(1);
        h.Statuses.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Unanswered_command_is_resent_until_max_attempts_then_timed_out()
    {
        await using var h = ActuationHarness.Create();
        await h.Bus.PublishAsync(ActuationHarness.Decision());
        string id = h.Sent.Received[0].CommandId;

        // Before the time-out nothing happens.
        h.Time.Advance(TimeSpan.FromSeconds(9));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Count.ShouldBe(1);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Select(s => s.Attempt).ShouldBe([1, 2]);
        h.Sent.Received[1].CommandId.ShouldBe(id);
        h.Sent.Received[1].IssuedAt.ShouldBe(ActuationHarness.Start.AddSeconds(10));

        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Select(s => s.Attempt).ShouldBe([1, 2, 3]);

        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Count.ShouldBe(3);
        h.Tracker.Get(id)!.Status.ShouldBe("timed-out");
        h.Statuses.Received.Select(s => (s.Status, s.Attempts)).ShouldBe([("sent", 1), ("sent", 2), ("sent", 3), ("timed-out", 3)]);

        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Count.ShouldBe(3);
        h.Statuses.Received.Count.ShouldBe(4);
    }

    [Fact]
    public async Task Ack_after_a_retry_stops_the_retries()
    {
        await using var h = ActuationHarness.Create();
        await h.Bus.PublishAsync(ActuationHarness.Decision());
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Tracker.SweepAsync(CancellationToken.None);

        await h.Bus.PublishAsync(Ack(h.Sent.Received[1], "accepted"));
        h.Time.Advance(TimeSpan.FromSeconds(30));
        await h.Tracker.SweepAsync(CancellationToken.None);

        h.Sent.Received.Count.ShouldBe(2);
        var status = h.Tracker.Get(h.Sent.Received[0].CommandId)!;
        status.Status.ShouldBe("acknowledged");
        status.Attempts.ShouldBe(2);
    }

    [Fact]
    public async Task Rejected_ack_marks_the_command_rejected_and_later_acks_change_nothing()
    {
        await using var h = ActuationHarness.Create();
        await h.Bus.PublishAsync(ActuationHarness.Decision());
        var sent = h.Sent.Received[0];

        await h.Bus.PublishAsync(Ack(sent, "rejected", "level out of range"));
        await h.Bus.PublishAsync(Ack(sent, "accepted"));

        var status = h.Tracker.Get(sent.CommandId)!;
        status.Status.ShouldBe("rejected");
        status.Detail.ShouldBe("level out of range");
        h.Statuses.Received.Select(s => s.Status).ShouldBe(["sent", "rejected"]);
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.Tracker.SweepAsync(CancellationToken.None);
        h.Sent.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Failed_ack_marks_the_command_failed_and_acks_for_unknown_commands_or_other_devices_are_ignored()
    {
        await using var h = ActuationHarness.Create();
        await h.Bus.PublishAsync(ActuationHarness.Decision());
        var sent = h.Sent.Received[0];

        await h.Bus.PublishAsync(Ack(sent, "accepted") with { CommandId = "nope" });
        await h.Bus.PublishAsync(Ack(sent, "accepted") with { DeviceId = "impostor" });
        h.Tracker.Get(sent.CommandId)!.Status.ShouldBe("sent");

        await h.Bus.PublishAsync(Ack(sent, "failed", "battery low"));
        h.Tracker.Get(sent.CommandId)!.Status.ShouldBe("failed");
    }

    [Fact]
    public async Task Late_ack_after_time_out_is_recorded()
    {
        await using var h = ActuationHarness.Create();
        await h.Bus.PublishAsync(ActuationHarness.Decision());
        for (int i = 0; i < 3; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(10));
            await h.Tracker.SweepAsync(CancellationToken.None);
        }

        h.Tracker.Get(h.Sent.Received[0].CommandId)!.Status.ShouldBe("timed-out");
        await h.Bus.PublishAsync(Ack(h.Sent.Received[0], "accepted"));
        h.Tracker.Get(h.Sent.Received[0].CommandId)!.Status.ShouldBe("acknowledged");
    }

    [Fact]
    public void Command_id_is_derived_from_the_action_id()
    {
        CommandTracker.CommandIdFor("a1").ShouldBe(CommandTracker.CommandIdFor("a1"));
        CommandTracker.CommandIdFor("a1").ShouldNotBe(CommandTracker.CommandIdFor("a2"));
        CommandTracker.CommandIdFor("a1").ShouldMatch("^[0-9a-f]{32}$");
    }
}
