using System.ComponentModel.DataAnnotations;
using HeartTwin.Contracts;

namespace HeartTwin.Agent;

/// <summary>The "Agent" configuration section.</summary>
public sealed class AgentOptions : IValidatableObject
{
    /// <summary>The configuration section's name.</summary>
    public const string SectionName = "Agent";

    /// <summary>Seconds between analyses of every patient with new data (one batched inference call per tick). Default 0.5: the tick is most of the arrival-to-alert time, and at 1,000 patients a half-second tick cost no measurable CPU over a 1 s one.</summary>
    [Range(0.05, 3600)]
    public double IntervalSeconds { get; set; } = 0.5;

    /// <summary>The beat model, <c>name</c> or <c>name@version</c>; empty for the Inference block's default.</summary>
    public string? Model { get; set; }

    /// <summary>The most beats sent in one classification request (a tick with more sends several). Default 8192.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchBeats { get; set; } = 8192;

    /// <summary>Averaged heart rate above this, sustained, proposes heart-rate-high. Default 120 bpm.</summary>
    [Range(30, 300)]
    public double HeartRateHighBpm { get; set; } = 120;

    /// <summary>Averaged heart rate below this, sustained, proposes heart-rate-low. Default 40 bpm.</summary>
    [Range(10, 200)]
    public double HeartRateLowBpm { get; set; } = 40;

    /// <summary>Signal seconds the rate must stay beyond a bound before the proposal. Default 10 s.</summary>
    [Range(0, 3600)]
    public double HeartRateSustainSeconds { get; set; } = 10;

    /// <summary>The rate must come back this far inside a bound before the next excursion is proposed again (re-arm hysteresis). Default 5 bpm.</summary>
    [Range(0, 100)]
    public double HeartRateHysteresisBpm { get; set; } = 5;

    /// <summary>Signal seconds of RR intervals behind the averaged heart rate. Default 10 s.</summary>
    [Range(1, 600)]
    public double HeartRateAverageSeconds { get; set; } = 10;

    /// <summary>Signal seconds of normal-to-normal intervals behind SDNN, RMSSD and pNN50. Default 300 s (5 min).</summary>
    [Range(10, 86_400)]
    public double HrvWindowSeconds { get; set; } = 300;

    /// <summary>Consecutive ventricular beats that make a run. Default 3.</summary>
    [Range(2, 1000)]
    public int VentricularRunBeats { get; set; } = 3;

    /// <summary>Signal seconds of consecutive unusable windows before signal-lost is proposed. Default 20 s.</summary>
    [Range(1, 86_400)]
    public double SignalLostSeconds { get; set; } = 20;

    /// <summary>Seconds without data from a device that was streaming before device-silent is proposed. Default 30 s.</summary>
    [Range(1, 86_400)]
    public double DeviceSilentSeconds { get; set; } = 30;

    /// <summary>Seconds between pulls of a patient's latest windows from Storage (quality, signal lost). Default 5 s.</summary>
    [Range(0.05, 3600)]
    public double WindowsPollSeconds { get; set; } = 5;

    /// <summary>When above 0, AF onset also proposes a 12-lead capture of this many seconds (a second action). Default 0 (off).</summary>
    [Range(0, 3600)]
    public int AfOnsetCapture12LeadSeconds { get; set; }

    /// <summary>
    /// The device command proposed with each event type (key: one of <see cref="EventTypes"/>). An entry with an empty
    /// <see cref="AgentCommandOptions.Name"/> proposes an alert only. Defaults: raise-alarm level 3 for ventricular runs,
    /// level 2 for AF onset.
    /// </summary>
    public Dictionary<string, AgentCommandOptions> Commands { get; } = new(StringComparer.Ordinal)
    {
        [EventTypes.VentricularRun] = new() { Name = DeviceCommands.RaiseAlarm, Parameters = { ["level"] = "3" } },
        [EventTypes.AfOnset] = new() { Name = DeviceCommands.RaiseAlarm, Parameters = { ["level"] = "2" } },
    };

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HeartRateLowBpm >= HeartRateHighBpm)
        {
            yield return new ValidationResult("Agent:HeartRateLowBpm must be below Agent:HeartRateHighBpm.", [nameof(HeartRateLowBpm), nameof(HeartRateHighBpm)]);
        }

        foreach (var (eventType, command) in Commands)
        {
            if (command is null)
            {
                continue;
            }

            if (command.Name.Length > 0 && command.Name is not (DeviceCommands.RaiseAlarm or DeviceCommands.SetSampleRate or DeviceCommands.Capture12Lead or DeviceCommands.AdjustPacing))
            {
                yield return new ValidationResult($"Agent:Commands:{eventType}:Name '{command.Name}' is not a device command (raise-alarm, set-sample-rate, capture-12-lead, adjust-pacing).", [nameof(Commands)]);
            }
        }
    }
}

/// <summary>A device command the Agent proposes with an event (see <see cref="AgentOptions.Commands"/>).</summary>
public sealed class AgentCommandOptions
{
    /// <summary>One of <see cref="DeviceCommands"/>; empty for an alert without command.</summary>
    public string Name { get; set; } = "";

    /// <summary>The command's parameters (for raise-alarm: "level" 1–3; the Agent adds "message").</summary>
    public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);
}
