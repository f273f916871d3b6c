using HeartTwin.Contracts.Wire;

namespace HeartTwin.Simulation;

/// <summary>How a simulated device reaches the twin: MQTT or HTTP. A transport retries transient failures itself.</summary>
internal interface IDeviceTransport : IAsyncDisposable
{
    /// <summary>"mqtt" or "http".</summary>
    string Name { get; }

    /// <summary>Connects (MQTT) and starts receiving commands; each one is handed to <paramref name="onCommand"/>, whose answer is sent back as the acknowledgement.</summary>
    Task StartAsync(Func<CommandDto, AckDto> onCommand, CancellationToken cancellationToken);

    /// <summary>
    /// Sends one batch and returns once the twin acknowledged it (it is durable), retrying with back-off across
    /// dropped connections, 503/429 and timeouts, always with the same sequence number.
    /// </summary>
    /// <exception cref="DeviceRejectedException">The twin refused the device or the batch for good (wrong token, invalid batch).</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the acknowledgement.</exception>
    Task<SendOutcome> SendAsync(SimulatedBatch batch, CancellationToken cancellationToken);
}

/// <summary>What it took to get a batch acknowledged.</summary>
/// <param name="Retries">Sends after the first (0 when the first was acknowledged).</param>
/// <param name="Duplicate">The twin said it already had this sequence (HTTP body <c>"duplicate": true</c>, or an MQTT 5 PUBACK reason saying so).</param>
/// <param name="Rejected">The twin answered but dropped the batch as invalid (MQTT PUBACK error code); the device moves on.</param>
/// <param name="Detail">The twin's reason when it rejected the batch.</param>
internal readonly record struct SendOutcome(int Retries, bool Duplicate, bool Rejected = false, string? Detail = null);

/// <summary>The twin refused the device or its data for good: retrying the same request cannot help.</summary>
internal sealed class DeviceRejectedException : Exception
{
    public DeviceRejectedException() { }

    public DeviceRejectedException(string message) : base(message) { }

    public DeviceRejectedException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Exponential back-off with a cap, and jitter so that many devices do not reconnect in lock-step.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max)
    {
        double factor = Math.Pow(2, Math.Min(attempt, 16));
        double ms = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * factor);
        // Jitter is not security-sensitive.
#pragma warning disable CA5394
        return TimeSpan.FromMilliseconds(ms * (0.75 + (Random.Shared.NextDouble() * 0.5)));
#pragma warning restore CA5394
    }
}
