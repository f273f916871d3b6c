using System.Text.Json;
using System.Text.RegularExpressions;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace HeartTwin.Connector;

/// <summary>A device batch after decoding, before validation: the same shape for JSON and binary, HTTP and MQTT.</summary>
internal sealed record IncomingBatch(
    long Sequence,
    DateTimeOffset? StartTime,
    double? SampleRateHz,
    IReadOnlyList<LeadInfo>? Leads,
    int[][]? Samples,
    IReadOnlyList<VitalObservation>? Observations)
{
    public bool HasSamples => Leads is not null || Samples is not null;

    public bool HasObservations => Observations is { Count: > 0 };
}

/// <summary>Decodes device payloads (JSON or the binary form) and checks them against <see cref="ConnectorOptions"/>.</summary>
internal sealed partial class BatchValidator(IOptions<ConnectorOptions> options, TimeProvider time)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // Nothing a real device records predates this; an earlier time is a clock that was never set.
    private static readonly DateTimeOffset EarliestTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int MaxLeads = 16;
    private const int MaxObservations = 1000;
    private readonly ConnectorOptions options = options.Value;

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    internal static partial Regex IdPattern();

    [GeneratedRegex(@"^[\p{L}\p{N} ._+\-/()]{1,32}$")]
    private static partial Regex LeadNamePattern();

    /// <summary>Decodes a payload: the binary form when it starts with the magic, JSON otherwise.</summary>
    public static Rejection? Decode(ReadOnlySpan<byte> payload, out IncomingBatch? batch) =>
        BinarySampleBatch.IsBinary(payload) ? DecodeBinary(payload, out batch) : DecodeJson(payload, out batch);

    public static Rejection? DecodeBinary(ReadOnlySpan<byte> payload, out IncomingBatch? batch)
    {
        batch = null;
        if (!BinarySampleBatch.TryDecode(payload, out var decoded, out string error))
        {
            return Rejection.Of(ErrorCodes.Malformed, StatusCodes.Status400BadRequest, $"Binary batch: {error}");
        }

        batch = new IncomingBatch(decoded!.Sequence, decoded.StartTime, decoded.SampleRateHz, decoded.Leads, decoded.Samples, null);
        return null;
    }

    public static Rejection? DecodeJson(ReadOnlySpan<byte> payload, out IncomingBatch? batch)
    {
        batch = null;
        SampleBatchDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<SampleBatchDto>(payload, Json);
        }
        catch (JsonException ex)
        {
            return Rejection.Of(ErrorCodes.Malformed, StatusCodes.Status400BadRequest,
                $"The body is not a valid JSON sample batch ({ex.Message.Split(". ")[0]}).");
        }

        if (dto is null)
        {
            return Rejection.Of(ErrorCodes.Malformed, StatusCodes.Status400BadRequest, $"The body is JSON null, not a sample batch.");
        }

        if (dto.Sequence is not { } sequence)
        {
            return Rejection.Of(ErrorCodes.Malformed, StatusCodes.Status400BadRequest, $"'sequence' is required.");
        }

        LeadInfo[]? leads = null;
        if (dto.Leads is not null)
        {
            leads = new LeadInfo[dto.Leads.Count];
            for (int i = 0; i < leads.Length; i++)
            {
                var l = dto.Leads[i];
                if (l is null)
                {
                    return Rejection.Invalid(ErrorCodes.InvalidLeads, $"Lead {i} is null.");
                }

                if (l.Gain is null)
                {
                    return Rejection.Invalid(ErrorCodes.InvalidLeads, $"Lead {i} has no 'gain'.");
                }

                leads[i] = new LeadInfo(l.Name ?? string.Empty, l.Gain.Value, l.Baseline ?? 0, l.Units ?? "mV");
            }
        }

        int[][]? samples = null;
        if (dto.Samples is not null)
        {
            samples = new int[dto.Samples.Count][];
            for (int i = 0; i < samples.Length; i++)
            {
                if (dto.Samples[i] is not { } lead)
                {
                    return Rejection.Invalid(ErrorCodes.InvalidSamples, $"Sample array {i} is null.");
                }

                samples[i] = [.. lead];
            }
        }

        List<VitalObservation>? observations = null;
        if (dto.Observations is not null)
        {
            if (dto.Observations.Count > MaxObservations)
            {
                return Rejection.Invalid(ErrorCodes.InvalidObservation, $"At most {MaxObservations} observations per batch; got {dto.Observations.Count}.");
            }

            observations = new List<VitalObservation>(dto.Observations.Count);
            foreach (var o in dto.Observations)
            {
                if (o?.Code is null || o.Value is null || o.Time is null)
                {
                    return Rejection.Invalid(ErrorCodes.InvalidObservation, $"Observation {observations.Count} needs 'code', 'value' and 'time'.");
                }

                string unit = o.Unit ?? (VitalCodes.All.TryGetValue(o.Code, out var known) ? known.Unit : string.Empty);
                observations.Add(new VitalObservation(o.Code, o.Value.Value, unit, o.Time.Value.ToUniversalTime()));
            }
        }

        batch = new IncomingBatch(sequence, dto.StartTime?.ToUniversalTime(), dto.SampleRateHz, leads, samples, observations);
        return null;
    }

    /// <summary>Checks a decoded batch; null when it may be accepted.</summary>
    public Rejection? Validate(IncomingBatch batch)
    {
        if (batch.Sequence < 0)
        {
            return Rejection.Invalid(ErrorCodes.Malformed, $"'sequence' must be ≥ 0; got {batch.Sequence}.");
        }

        if (!batch.HasSamples && !batch.HasObservations)
        {
            return Rejection.Invalid(ErrorCodes.EmptyBatch, $"The batch carries neither samples (leads + samples) nor observations.");
        }

        return (batch.HasSamples ? ValidateSamples(batch) : null) ?? (batch.Observations is { } obs ? ValidateObservations(obs) : null);
    }

    private Rejection? ValidateSamples(IncomingBatch batch)
    {
        if (batch.StartTime is not { } start)
        {
            return Rejection.Invalid(ErrorCodes.InvalidStartTime, $"'startTime' (UTC) is required with samples.");
        }

        var latest = time.GetUtcNow().AddSeconds(options.MaxClockSkewSeconds);
        if (start < EarliestTime || start > latest)
        {
            return Rejection.Invalid(ErrorCodes.InvalidStartTime, $"'startTime' {start:O} lies before 2000 or more than {options.MaxClockSkewSeconds} s in the future.");
        }

        if (batch.SampleRateHz is not { } rate || !double.IsFinite(rate) || rate < options.MinSampleRateHz || rate > options.MaxSampleRateHz)
        {
            return Rejection.Invalid(ErrorCodes.InvalidRate, $"'sampleRateHz' must lie within {options.MinSampleRateHz}–{options.MaxSampleRateHz} Hz; got {(object?)batch.SampleRateHz ?? "none"}.");
        }

        var leads = batch.Leads;
        if (leads is null || leads.Count is 0 or > MaxLeads)
        {
            return Rejection.Invalid(ErrorCodes.InvalidLeads, $"A batch has 1–{MaxLeads} leads; got {leads?.Count ?? 0}.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < leads.Count; i++)
        {
            var lead = leads[i];
            if (!LeadNamePattern().IsMatch(lead.Name) || !names.Add(lead.Name))
            {
                return Rejection.Invalid(ErrorCodes.InvalidLeads, $"Lead {i} name '{lead.Name}' is empty, too long (> 32), has odd characters, or repeats another lead's.");
            }

            if (!double.IsFinite(lead.Gain) || lead.Gain <= 0)
            {
                return Rejection.Invalid(ErrorCodes.InvalidLeads, $"Lead '{lead.Name}' gain must be > 0 (ADC units per mV); got {lead.Gain}.");
            }

            if (lead.Units != "mV")
            {
                return Rejection.Invalid(ErrorCodes.InvalidLeads, $"Lead '{lead.Name}' units must be \"mV\"; got \"{lead.Units}\".");
            }
        }

        var samples = batch.Samples;
        if (samples is null || samples.Length != leads.Count)
        {
            return Rejection.Invalid(ErrorCodes.InvalidSamples, $"One sample array per lead: {leads.Count} lead(s) but {samples?.Length ?? 0} array(s).");
        }

        int perLead = samples[0].Length;
        if (perLead == 0)
        {
            return Rejection.Invalid(ErrorCodes.InvalidSamples, $"The sample arrays are empty.");
        }

        double seconds = perLead / rate;
        if (seconds > options.MaxBatchSeconds)
        {
            return Rejection.Invalid(ErrorCodes.BatchTooLong, $"The batch holds {seconds:0.###} s of signal; at most {options.MaxBatchSeconds} s.");
        }

        for (int i = 0; i < samples.Length; i++)
        {
            if (samples[i].Length != perLead)
            {
                return Rejection.Invalid(ErrorCodes.InvalidSamples, $"Every lead needs the same number of samples: lead 0 has {perLead}, lead {i} has {samples[i].Length}.");
            }

            var lead = leads[i];
            double limit = options.MaxAbsMillivolts * lead.Gain;
            foreach (int v in samples[i])
            {
                if (v is < short.MinValue or > short.MaxValue || Math.Abs(v - (double)lead.Baseline) > limit)
                {
                    return Rejection.Invalid(ErrorCodes.ValueOutOfRange,
                        $"Lead '{lead.Name}' sample {v} is outside int16 or beyond ±{options.MaxAbsMillivolts} mV (gain {lead.Gain}, baseline {lead.Baseline}).");
                }
            }
        }

        return null;
    }

    private Rejection? ValidateObservations(IReadOnlyList<VitalObservation> observations)
    {
        var latest = time.GetUtcNow().AddSeconds(options.MaxClockSkewSeconds);
        foreach (var o in observations)
        {
            if (!VitalCodes.All.TryGetValue(o.Code, out var spec))
            {
                return Rejection.Invalid(ErrorCodes.InvalidObservation, $"Unknown observation code '{o.Code}'; known: {string.Join(", ", VitalCodes.All.Keys)}.");
            }

            if (o.Unit != spec.Unit)
            {
                return Rejection.Invalid(ErrorCodes.InvalidObservation, $"'{o.Code}' is measured in \"{spec.Unit}\"; got \"{o.Unit}\".");
            }

            if (!double.IsFinite(o.Value) || o.Value < spec.Min || o.Value > spec.Max)
            {
                return Rejection.Invalid(ErrorCodes.InvalidObservation, $"'{o.Code}' {o.Value} lies outside its plausible range {spec.Min}–{spec.Max} {spec.Unit}.");
            }

            if (o.Time < EarliestTime || o.Time > latest)
            {
                return Rejection.Invalid(ErrorCodes.InvalidObservation, $"'{o.Code}' time {o.Time:O} lies before 2000 or in the future.");
            }
        }

        return null;
    }
}
