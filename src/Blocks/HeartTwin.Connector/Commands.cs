using System.Collections.Concurrent;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using HeartTwin.Messaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Connector;

/// <summary>
/// Commands not yet acknowledged, per device, for devices that pull over HTTP. Kept in memory: after a restart
/// Actuation's retry sends them again (it tracks every command's status and timeout).
/// </summary>
internal sealed class PendingCommands(IOptions<ConnectorOptions> options)
{
    private readonly ConcurrentDictionary<string, List<CommandDto>> byDevice = new(StringComparer.Ordinal);
    private readonly int capacity = options.Value.MaxPendingCommands;

    public void Add(string deviceId, CommandDto command)
    {
        var list = byDevice.GetOrAdd(deviceId, _ => []);
        lock (list)
        {
            // A retry (same id, next attempt) replaces the earlier copy rather than queueing it twice.
            list.RemoveAll(c => c.CommandId == command.CommandId);
            list.Add(command);
            if (list.Count > capacity)
            {
                list.RemoveAt(0);
            }
        }
    }

    public IReadOnlyList<CommandDto> For(string deviceId)
    {
        if (!byDevice.TryGetValue(deviceId, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list];
        }
    }

    public int Count(string deviceId) => For(deviceId).Count;

    public void Remove(string deviceId, string commandId)
    {
        if (byDevice.TryGetValue(deviceId, out var list))
        {
            lock (list)
            {
                list.RemoveAll(c => c.CommandId == commandId);
            }
        }
    }
}

/// <summary>Takes a device's acknowledgement of a command (HTTP or MQTT) and publishes <see cref="CommandAcknowledged"/>.</summary>
internal sealed class AckService(PendingCommands pending, IMessageBus bus, IngestionService ingestion, IOptions<ConnectorOptions> options, TimeProvider time)
{
    private static readonly HashSet<string> Statuses = new(StringComparer.Ordinal) { "accepted", "rejected", "failed" };

    public async Task<Rejection?> AcknowledgeAsync(DeviceState device, AckDto? ack, string transport, CancellationToken cancellationToken)
    {
        if (ack?.CommandId is not { Length: > 0 and <= 128 } commandId || ack.Status is null || !Statuses.Contains(ack.Status) || ack.Detail is { Length: > 1024 })
        {
            var invalid = Rejection.Invalid(ErrorCodes.InvalidAck,
                $"An acknowledgement needs 'commandId' (1–128 characters), 'status' (accepted, rejected or failed) and at most 1024 characters of 'detail'.");
            ingestion.CountRejected(device, invalid, transport);
            return invalid;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.AckTimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await bus.PublishAsync(new CommandAcknowledged(commandId, device.DeviceId, device.PatientId, ack.Status, ack.Detail, time.GetUtcNow()), linked.Token)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MessageDeliveryException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return Rejection.Of(ErrorCodes.Overloaded, StatusCodes.Status503ServiceUnavailable, $"The acknowledgement was not recorded in time; send it again.");
        }

        pending.Remove(device.DeviceId, commandId);
        return null;
    }
}

/// <summary>Sends <see cref="ActuateDevice"/> to its device: on MQTT <c>…/commands</c> (QoS 1), and pending for HTTP pull.</summary>
internal sealed partial class ActuateDeviceHandler(DeviceRegistry registry, PendingCommands pending, MqttGateway mqtt, ILogger<ActuateDeviceHandler> logger)
    : IMessageHandler<ActuateDevice>
{
    public async Task HandleAsync(ActuateDevice message, MessageContext context, CancellationToken cancellationToken)
    {
        if (registry.Find(message.DeviceId) is null)
        {
            // Nothing to retry: the device does not exist. Actuation sees no acknowledgement and times the command out.
            LogUnknownDevice(message.CommandId, message.DeviceId);
            return;
        }

        var command = new CommandDto(message.CommandId, message.Command.Name, message.Command.Parameters, message.IssuedAt);
        pending.Add(message.DeviceId, command);
        await mqtt.SendAsync(DeviceTopics.Commands(message.DeviceId), command, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId} is for unknown device {DeviceId}; dropped")]
    private partial void LogUnknownDevice(string commandId, string deviceId);
}
