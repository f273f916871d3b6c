using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Actuation;

/// <summary>The status words of <see cref="CommandStatusChanged.Status"/>.</summary>
public static class CommandStatuses
{
    /// <summary>Sent to the device (again, on a retry); waiting for its acknowledgement.</summary>
    public const string Sent = "sent";
    /// <summary>The device accepted it.</summary>
    public const string Acknowledged = "acknowledged";
    /// <summary>The device refused it.</summary>
    public const string Rejected = "rejected";
    /// <summary>No acknowledgement after every attempt.</summary>
    public const string TimedOut = "timed-out";
    /// <summary>The device reported that it could not carry it out.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// Turns allowed decisions into device commands and follows each until the device answers or the attempts run out.
/// Every change is published as <see cref="CommandStatusChanged"/>. State is in memory: after a restart the trail
/// of a command is in Storage (its status messages), not here.
/// </summary>
internal sealed partial class CommandTracker(IMessageBus bus, TimeProvider time, IOptions<ActuationOptions> options, ILogger<CommandTracker> logger)
    : IMessageHandler<ActionDecided>, IMessageHandler<CommandAcknowledged>
{
    private readonly ActuationOptions options = options.Value;
    private readonly ConcurrentDictionary<string, TrackedCommand> commands = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ActionDecided>> waiters = new(StringComparer.Ordinal);

    /// <summary>The command id of an action's command: the same for every redelivery of the decision.</summary>
    public static string CommandIdFor(string actionId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("command:" + actionId)).AsSpan(0, 16));

    /// <summary>The latest status of a command, or null when unknown.</summary>
    public CommandStatusChanged? Get(string commandId) => commands.TryGetValue(commandId, out var c) ? c.Latest : null;

    /// <summary>The latest status of each of a patient's commands, newest first.</summary>
    public IReadOnlyList<CommandStatusChanged> ForPatient(string patientId) =>
        [.. commands.Values.Select(c => c.Latest).Where(s => s.PatientId == patientId).OrderByDescending(s => s.UpdatedAt)];

    /// <summary>Starts waiting for an action's decision (call before proposing, so that a quick decision is not missed).</summary>
    public Task<ActionDecided> WaitForDecision(string actionId) =>
        waiters.GetOrAdd(actionId, _ => new TaskCompletionSource<ActionDecided>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Stops waiting for an action's decision.</summary>
    public void StopWaiting(string actionId) => waiters.TryRemove(actionId, out _);

    public async Task HandleAsync(ActionDecided message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (waiters.TryRemove(message.Proposal.ActionId, out var waiter))
        {
            waiter.TrySetResult(message);
        }

        var proposal = message.Proposal;
        if (!message.Allowed || proposal.Command is null || string.IsNullOrEmpty(proposal.DeviceId))
        {
            return;
        }

        var now = time.GetUtcNow();
        string commandId = CommandIdFor(proposal.ActionId);
        var tracked = new TrackedCommand(new CommandStatusChanged(
            commandId, proposal.ActionId, proposal.DeviceId, proposal.PatientId, proposal.Command, CommandStatuses.Sent, 1, now, null));
        if (!commands.TryAdd(commandId, tracked))
        {
            // A redelivered decision: the command exists and is followed already; sending again would act twice.
            LogRedelivered(logger, commandId, proposal.ActionId);
            return;
        }

        await tracked.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            tracked.LastSentAt = now;
            await SendAsync(tracked, 1, now, cancellationToken).ConfigureAwait(false);
            await bus.PublishAsync(tracked.Latest, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            tracked.Gate.Release();
        }
    }

    public async Task HandleAsync(CommandAcknowledged message, MessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!commands.TryGetValue(message.CommandId ?? "", out var tracked))
        {
            LogUnknownAck(logger, message.CommandId, message.DeviceId);
            return;
        }

        await tracked.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var latest = tracked.Latest;
            string status = message.Status switch
            {
                "accepted" => CommandStatuses.Acknowledged,
                "rejected" => CommandStatuses.Rejected,
                _ => CommandStatuses.Failed,
            };

            // A final answer stands (a duplicate ack changes nothing); a late answer after a time-out is still the truth.
            if (latest.Status is not (CommandStatuses.Sent or CommandStatuses.TimedOut) || message.DeviceId != latest.DeviceId)
            {
                return;
            }

            string? detail = message.Status is "accepted" or "rejected" or "failed"
                ? message.Detail
                : $"unknown acknowledgement status '{message.Status}'" + (message.Detail is null ? "" : $": {message.Detail}");
            tracked.Latest = latest with { Status = status, UpdatedAt = time.GetUtcNow(), Detail = detail };
            LogStatus(logger, latest.CommandId, status, latest.Attempts);
            await bus.PublishAsync(tracked.Latest, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            tracked.Gate.Release();
        }
    }

    /// <summary>Resends commands whose acknowledgement is overdue, times out those out of attempts, forgets old finished ones.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var timeout = TimeSpan.FromSeconds(options.AckTimeoutSeconds);
        var retain = TimeSpan.FromMinutes(options.RetainFinishedMinutes);
        foreach (var tracked in commands.Values)
        {
            var latest = tracked.Latest;
            if (latest.Status != CommandStatuses.Sent)
            {
                if (now - latest.UpdatedAt > retain)
                {
                    commands.TryRemove(latest.CommandId, out _);
                }

                continue;
            }

            if (now - tracked.LastSentAt < timeout || !await tracked.Gate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            try
            {
                latest = tracked.Latest;
                if (latest.Status != CommandStatuses.Sent || now - tracked.LastSentAt < timeout)
                {
                    continue; // answered meanwhile
                }

                if (latest.Attempts < options.MaxAttempts)
                {
                    int attempt = latest.Attempts + 1;
                    tracked.LastSentAt = now;
                    tracked.Latest = latest with { Attempts = attempt, UpdatedAt = now, Detail = $"no acknowledgement within {options.AckTimeoutSeconds} s; sent again" };
                    await SendAsync(tracked, attempt, now, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    tracked.Latest = latest with
                    {
                        Status = CommandStatuses.TimedOut,
                        UpdatedAt = now,
                        Detail = $"no acknowledgement after {latest.Attempts} attempt(s), {options.AckTimeoutSeconds} s each",
                    };
                    LogStatus(logger, latest.CommandId, CommandStatuses.TimedOut, latest.Attempts);
                }

                await bus.PublishAsync(tracked.Latest, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                tracked.Gate.Release();
            }
        }
    }

    private async Task SendAsync(TrackedCommand tracked, int attempt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var s = tracked.Latest;
        try
        {
            await bus.PublishAsync(new ActuateDevice(s.CommandId, s.DeviceId, s.PatientId, s.Command, s.ActionId, attempt, now), cancellationToken)
                .ConfigureAwait(false);
            LogSent(logger, s.CommandId, s.Command.Name, s.DeviceId, attempt);
        }
        catch (MessageDeliveryException ex)
        {
            // The Connector could not take it: the acknowledgement will not come, so the time-out sends it again.
            LogSendFailed(logger, s.CommandId, attempt, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} ({Command}) sent to device {DeviceId}, attempt {Attempt}")]
    private static partial void LogSent(ILogger logger, string commandId, string command, string deviceId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId} attempt {Attempt} could not be handed to the Connector: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string commandId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} is {Status} after {Attempts} attempt(s)")]
    private static partial void LogStatus(ILogger logger, string commandId, string status, int attempts);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Decision for action {ActionId} redelivered; command {CommandId} is not sent again")]
    private static partial void LogRedelivered(ILogger logger, string commandId, string actionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Acknowledgement for unknown command {CommandId} from device {DeviceId} ignored")]
    private static partial void LogUnknownAck(ILogger logger, string? commandId, string? deviceId);

    /// <summary>One command's state. <see cref="Gate"/> keeps its sends and status changes in order.</summary>
    private sealed class TrackedCommand(CommandStatusChanged initial)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public CommandStatusChanged Latest { get; set; } = initial;

        public DateTimeOffset LastSentAt { get; set; }
    }
}

/// <summary>Runs the tracker's sweep on a timer (the TimeProvider's, so tests can drive it).</summary>
internal sealed partial class ActuationTimer(CommandTracker tracker, TimeProvider time, IOptions<ActuationOptions> options, ILogger<ActuationTimer> logger)
    : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(options.Value.CheckIntervalMs);
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await tracker.SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (MessageDeliveryException ex)
                {
                    // A status subscriber failed; the next sweep carries on with the other commands.
                    LogSweepFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command sweep interrupted: {Reason}")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}
