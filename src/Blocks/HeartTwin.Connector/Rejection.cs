using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace HeartTwin.Connector;

/// <summary>
/// Why the Connector refused a device's message: a machine-readable code (also the last segment of the
/// ProblemDetails type URI, and <c>DeviceErrorDto.Error</c> on MQTT), the HTTP status, and a one-line detail.
/// </summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="Status">HTTP status code.</param>
/// <param name="Detail">What was wrong, for the device's developer.</param>
public sealed record Rejection(string Code, int Status, string Detail)
{
    /// <summary>Base of every problem type URI.</summary>
    public const string TypeBase = "https://hearttwin.dev/problems/connector/";

    /// <summary>The ProblemDetails this rejection answers with.</summary>
    public ProblemDetails ToProblem(string? instance = null) => new()
    {
        Type = TypeBase + Code,
        Title = Code,
        Status = Status,
        Detail = Detail,
        Instance = instance,
        Extensions = { ["code"] = Code },
    };

    /// <summary>Formats a detail with invariant culture.</summary>
    internal static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    internal static Rejection Of(string code, int status, FormattableString detail) => new(code, status, Format(detail));

    internal static Rejection Invalid(string code, FormattableString detail) => Of(code, StatusCodes.Status422UnprocessableEntity, detail);
}

/// <summary>The error codes of <see cref="Rejection"/>.</summary>
public static class ErrorCodes
{
    /// <summary>401: no credential, or one that no device holds.</summary>
    public const string Unauthorized = "unauthorized";
    /// <summary>403: the credential belongs to another device, or the topic is not the device's own.</summary>
    public const string Forbidden = "forbidden";
    /// <summary>404: no such device.</summary>
    public const string UnknownDevice = "unknown-device";
    /// <summary>409: the device already exists.</summary>
    public const string DeviceExists = "device-exists";
    /// <summary>400: the body is not valid JSON / binary, or lacks a required field.</summary>
    public const string Malformed = "malformed";
    /// <summary>415: neither JSON nor the binary batch form.</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";
    /// <summary>413: larger than Connector:MaxBatchBytes.</summary>
    public const string PayloadTooLarge = "payload-too-large";
    /// <summary>422: sampling rate outside the configured bounds.</summary>
    public const string InvalidRate = "invalid-rate";
    /// <summary>422: lead count outside 1–16, or a bad lead name, gain or unit.</summary>
    public const string InvalidLeads = "invalid-leads";
    /// <summary>422: sample arrays do not match the leads, or are ragged or empty.</summary>
    public const string InvalidSamples = "invalid-samples";
    /// <summary>422: more seconds of signal than Connector:MaxBatchSeconds.</summary>
    public const string BatchTooLong = "batch-too-long";
    /// <summary>422: a sample outside int16 or beyond Connector:MaxAbsMillivolts.</summary>
    public const string ValueOutOfRange = "value-out-of-range";
    /// <summary>422: start time missing, before 2000 or in the future.</summary>
    public const string InvalidStartTime = "invalid-start-time";
    /// <summary>422: an observation with an unknown code, wrong unit or implausible value.</summary>
    public const string InvalidObservation = "invalid-observation";
    /// <summary>422: a batch with neither samples nor observations.</summary>
    public const string EmptyBatch = "empty-batch";
    /// <summary>422: a command acknowledgement without id or with an unknown status.</summary>
    public const string InvalidAck = "invalid-ack";
    /// <summary>409: a sequence lower than the last accepted one (a replay).</summary>
    public const string ReplayedSequence = "replayed-sequence";
    /// <summary>503: the bus did not confirm in time; retry later.</summary>
    public const string Overloaded = "overloaded";
}
