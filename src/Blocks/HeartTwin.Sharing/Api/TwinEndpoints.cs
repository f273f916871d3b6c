using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using HeartTwin.Sharing.Streaming;
using HeartTwin.Sharing.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using static HeartTwin.Sharing.Api.ApiHelpers;

namespace HeartTwin.Sharing.Api;

/// <summary>The twin's REST API and its live stream: <c>/api/twins…</c>.</summary>
internal static class TwinEndpoints
{
    private const int MaxListLimit = 100_000;

    public static void Map(RouteGroupBuilder api)
    {
        var twins = api.MapGroup("/twins").WithTags("Twins");
        twins.MapGet("", ListAsync).WithSummary("Patients the caller may read, with their latest state.");
        twins.MapGet("/{patientId}", GetAsync).WithSummary("A patient's twin state and devices.");
        twins.MapGet("/{patientId}/ecg", EcgAsync).WithSummary("ECG samples in [from, to): integer samples as stored with gain and baseline, or mV with format=mv.");
        twins.MapGet("/{patientId}/beats", BeatsAsync).WithSummary("Beats with their classes in [from, to).");
        twins.MapGet("/{patientId}/events", EventsAsync).WithSummary("Detected events with their decisions in [from, to).");
        twins.MapGet("/{patientId}/actions", ActionsAsync).WithSummary("Events that proposed a device command, with the command's status.");
        twins.MapGet("/{patientId}/vitals", VitalsAsync).WithSummary("Vital-sign observations in [from, to).");
        twins.MapGet("/{patientId}/stream", Stream).WithSummary("Live Server-Sent Events: samples, state, beats, action, command, window, vitals (and lag).");
        twins.MapGet("/{patientId}/export", ExportAsync).WithSummary("GDPR export: everything about the patient (admin or write scope).");
        twins.MapDelete("/{patientId}", EraseAsync).RequireAuthorization(HeartTwinAuthentication.AdminPolicy).WithSummary("GDPR erasure (admin).");
    }

    private static async Task<IResult> ListAsync(HttpContext http, IMessageBus bus, SharePolicy policy, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        PatientsQuery query;
        if (principal.CanReadAll)
        {
            query = new PatientsQuery();
        }
        else
        {
            var readable = principal.Patients.Where(principal.CanRead).Order(StringComparer.Ordinal).ToList();
            if (readable.Count == 0)
            {
                return TypedResults.Ok(new TwinList([]));
            }

            query = new PatientsQuery(readable);
        }

        var result = await bus.RequestAsync<PatientsQuery, PatientsResult>(query, ct).ConfigureAwait(false);
        var visible = new List<PatientSummary>(result.Patients.Count);
        foreach (var patient in result.Patients)
        {
            // Storage answers what was asked; the list is filtered again so that nothing unreadable slips through.
            if (principal.CanRead(patient.PatientId)
                && (await policy.DecideAsync(principal.Subject, principal.Scopes, patient.PatientId, ShareCategories.State, SharePurposes.Api, ct).ConfigureAwait(false)).Allowed)
            {
                visible.Add(patient);
            }
        }

        return TypedResults.Ok(new TwinList(visible));
    }

    private static async Task<IResult> GetAsync(string patientId, HttpContext http, IMessageBus bus, SharePolicy policy, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (await CheckReadAsync(principal, policy, patientId, ShareCategories.State, SharePurposes.Api, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var result = await bus.RequestAsync<PatientsQuery, PatientsResult>(new PatientsQuery([patientId]), ct).ConfigureAwait(false);
        var patient = result.Patients.FirstOrDefault(p => p.PatientId == patientId);
        return patient is null ? NotFound(patientId) : TypedResults.Ok(patient);
    }

    private static async Task<IResult> EcgAsync(
        string patientId, string? from, string? to, string? lead, string? format,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct)
    {
        var o = options.Value;
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.CanRead(patientId))
        {
            return Forbidden(patientId);
        }

        bool mv = string.Equals(format, "mv", StringComparison.OrdinalIgnoreCase);
        if (!mv && format is not null && !string.Equals(format, "raw", StringComparison.OrdinalIgnoreCase))
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad 'format'", "'format' is 'raw' (integer samples as stored, the default) or 'mv' (floats in physical units).");
        }

        if (ParseRange(from, to, null, TimeSpan.FromSeconds(o.MaxEcgRangeSeconds), time.GetUtcNow(), out var start, out var end) is { } bad)
        {
            return bad;
        }

        if (lead is { Length: > 64 } || (lead is not null && string.IsNullOrWhiteSpace(lead)))
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad 'lead'", "'lead' is a lead name (MLII, V1, II …) of at most 64 characters.");
        }

        if (await CheckReadAsync(principal, policy, patientId, ShareCategories.Ecg, SharePurposes.Api, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        SamplesResult result;
        try
        {
            result = await bus.RequestAsync<SamplesQuery, SamplesResult>(new SamplesQuery(patientId, start, end, lead, o.MaxEcgSamplesPerLead), ct).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            // Storage refuses a range that holds more than the limit.
            return Problem(StatusCodes.Status400BadRequest, "Range too large", ex.Message);
        }

        long perLead = result.Segments.Sum(s => (long)(s.Samples.Length == 0 ? 0 : s.Samples[0].Length));
        if (perLead > o.MaxEcgSamplesPerLead)
        {
            return Problem(StatusCodes.Status400BadRequest, "Range too large",
                FormattableString.Invariant($"The range holds {perLead} samples per lead; at most {o.MaxEcgSamplesPerLead} may be returned at once. Ask for a shorter range."));
        }

        var segments = result.Segments.Select(s => new EcgSegment(
            s.DeviceId, s.Sequence, s.StartTime, s.SampleRateHz, s.Leads,
            mv ? null : s.Samples,
            mv ? ToMillivolts(s) : null)).ToList();
        return TypedResults.Ok(new EcgResponse(patientId, start, end, lead, mv ? "mv" : "raw", segments));
    }

    private static float[][] ToMillivolts(SampleSegment s)
    {
        var values = new float[s.Samples.Length][];
        for (int l = 0; l < s.Samples.Length; l++)
        {
            var info = s.Leads[l];
            var src = s.Samples[l];
            var dst = values[l] = new float[src.Length];
            for (int i = 0; i < src.Length; i++)
            {
                dst[i] = (float)((src[i] - info.Baseline) / info.Gain);
            }
        }

        return values;
    }

    private static Task<IResult> BeatsAsync(string patientId, string? from, string? to, int? limit,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct) =>
        RangeListAsync(patientId, from, to, limit, ShareCategories.Beats,
            async (start, end, max, c) => (await bus.RequestAsync<BeatsQuery, BeatsResult>(new BeatsQuery(patientId, start, end, max), c).ConfigureAwait(false)).Beats,
            http, policy, options, time, ct);

    private static Task<IResult> EventsAsync(string patientId, string? from, string? to, int? limit,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct) =>
        StoredActionsAsync(patientId, from, to, limit, ShareCategories.Events, _ => true, http, bus, policy, options, time, ct);

    private static Task<IResult> ActionsAsync(string patientId, string? from, string? to, int? limit,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct) =>
        StoredActionsAsync(patientId, from, to, limit, ShareCategories.Actions, a => a.Proposal.Command is not null, http, bus, policy, options, time, ct);

    private static Task<IResult> StoredActionsAsync(string patientId, string? from, string? to, int? limit, string category, Func<StoredAction, bool> keep,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct) =>
        RangeListAsync<StoredAction>(patientId, from, to, limit, category,
            async (start, end, max, c) => [.. (await bus.RequestAsync<EventsQuery, EventsResult>(new EventsQuery(patientId, start, end, max), c).ConfigureAwait(false)).Actions.Where(keep)],
            http, policy, options, time, ct);

    private static Task<IResult> VitalsAsync(string patientId, string? from, string? to, int? limit,
        HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct) =>
        RangeListAsync<VitalView>(patientId, from, to, limit, ShareCategories.Vitals,
            async (start, end, max, c) => [.. (await bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery(patientId, start, end, max), c).ConfigureAwait(false)).Observations.Select(VitalView.From)],
            http, policy, options, time, ct);

    /// <summary>
    /// The one path every time-range list takes: the caller's scope for the patient, the range arguments, the policy for the
    /// category, and only then the read.
    /// </summary>
    private static async Task<IResult> RangeListAsync<T>(string patientId, string? from, string? to, int? limit, string category,
        Func<DateTimeOffset, DateTimeOffset, int, CancellationToken, Task<IReadOnlyList<T>>> read,
        HttpContext http, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.CanRead(patientId))
        {
            return Forbidden(patientId);
        }

        if (ParseListArgs(from, to, limit, options.Value, time, out var start, out var end, out int max) is { } bad)
        {
            return bad;
        }

        if (await CheckReadAsync(principal, policy, patientId, category, SharePurposes.Api, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var items = await read(start, end, max, ct).ConfigureAwait(false);
        return TypedResults.Ok(new RangeList<T>(patientId, start, end, items));
    }

    private static async Task<IResult> Stream(string patientId, string? categories, HttpContext http, LiveHub hub, SharePolicy policy,
        IOptions<SharingOptions> options, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.CanRead(patientId))
        {
            return Forbidden(patientId);
        }

        var wanted = categories is null
            ? [.. ShareCategories.All]
            : categories.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
        var unknown = wanted.Where(c => !ShareCategories.IsKnown(c)).ToList();
        if (wanted.Count == 0 || unknown.Count > 0)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad 'categories'", $"Unknown categories: {string.Join(", ", unknown)}. Known: {string.Join(", ", ShareCategories.All)}.");
        }

        // The policy is asked once per category when the client subscribes; what it denies the client never receives.
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        var withheld = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var category in wanted)
        {
            var decision = await policy.DecideAsync(principal.Subject, principal.Scopes, patientId, category, SharePurposes.Stream, ct).ConfigureAwait(false);
            if (decision.Allowed)
            {
                allowed.Add(category);
            }
            else
            {
                withheld[category] = decision.Reason;
            }
        }

        if (allowed.Count == 0)
        {
            return Problem(StatusCodes.Status403Forbidden, "Denied by policy", string.Join(" ", withheld.Select(w => $"{w.Key}: {w.Value}")));
        }

        return TypedResults.ServerSentEvents(StreamEventsAsync(hub, patientId, allowed, withheld, options.Value.StreamBufferCapacity, http.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamEventsAsync(LiveHub hub, string patientId, HashSet<string> allowed,
        Dictionary<string, string> withheld, int capacity, [EnumeratorCancellation] CancellationToken ct)
    {
        // Registered before "ready" goes out, so a client that saw "ready" misses nothing published afterwards.
        var client = hub.Register(patientId, allowed, capacity);
        try
        {
            yield return new SseItem<string>(SharingJson.Serialize(new StreamReady(patientId, [.. allowed.Order(StringComparer.Ordinal)], withheld)), "ready");
            await foreach (var item in client.ReadAllAsync(ct).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            hub.Unregister(client);
            client.Complete();
        }
    }

    private static async Task<IResult> ExportAsync(string patientId, HttpContext http, IMessageBus bus, SharePolicy policy, SharingStore store, TimeProvider time, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.IsAdmin && !principal.CanWrite(patientId))
        {
            return Problem(StatusCodes.Status403Forbidden, "Forbidden", $"Exporting patient '{patientId}' needs the admin scope or write access to the patient.");
        }

        var patients = await bus.RequestAsync<PatientsQuery, PatientsResult>(new PatientsQuery([patientId]), ct).ConfigureAwait(false);
        var patient = patients.Patients.FirstOrDefault(p => p.PatientId == patientId);
        if (patient is null)
        {
            return NotFound(patientId);
        }

        var withheld = new Dictionary<string, string>(StringComparer.Ordinal);
        var unavailable = new List<string>();
        async Task<bool> MayAsync(string category)
        {
            var decision = await policy.DecideAsync(principal.Subject, principal.Scopes, patientId, category, SharePurposes.Export, ct).ConfigureAwait(false);
            if (!decision.Allowed)
            {
                withheld[category] = decision.Reason;
            }

            return decision.Allowed;
        }

        async Task<T?> AskAsync<TReq, T>(string name, TReq request) where TReq : class where T : class
        {
            try
            {
                return await bus.RequestAsync<TReq, T>(request, ct).ConfigureAwait(false);
            }
            catch (NoHandlerException)
            {
                unavailable.Add(name);
                return null;
            }
        }

        var from = DateTimeOffset.UnixEpoch;
        var to = DateTimeOffset.MaxValue.AddDays(-1);
        var export = new PatientExport(
            patientId,
            time.GetUtcNow(),
            await MayAsync(ShareCategories.State).ConfigureAwait(false) ? patient : patient with { State = null },
            await MayAsync(ShareCategories.Ecg).ConfigureAwait(false) ? (await AskAsync<SamplesQuery, SamplesResult>("samples", new SamplesQuery(patientId, from, to, null, int.MaxValue)).ConfigureAwait(false))?.Segments : null,
            await MayAsync(ShareCategories.Beats).ConfigureAwait(false) ? (await AskAsync<BeatsQuery, BeatsResult>("beats", new BeatsQuery(patientId, from, to, int.MaxValue)).ConfigureAwait(false))?.Beats : null,
            await MayAsync(ShareCategories.State).ConfigureAwait(false) ? (await AskAsync<WindowsQuery, WindowsResult>("windows", new WindowsQuery(patientId, from, to, int.MaxValue)).ConfigureAwait(false))?.Windows : null,
            await MayAsync(ShareCategories.Events).ConfigureAwait(false) ? (await AskAsync<EventsQuery, EventsResult>("events", new EventsQuery(patientId, from, to, int.MaxValue)).ConfigureAwait(false))?.Actions : null,
            await MayAsync(ShareCategories.Vitals).ConfigureAwait(false) ? (await AskAsync<VitalsQuery, VitalsResult>("vitals", new VitalsQuery(patientId, from, to, int.MaxValue)).ConfigureAwait(false))?.Observations.Select(VitalView.From).ToList() : null,
            (await AskAsync<AuditQuery, AuditResult>("audit", new AuditQuery(1, int.MaxValue, patientId)).ConfigureAwait(false))?.Entries,
            store.Inbox(null, patientId, null, int.MaxValue),
            withheld,
            unavailable);
        return TypedResults.Json(export, SharingJson.Options);
    }

    private static async Task<IResult> EraseAsync(string patientId, HttpContext http, IMessageBus bus, SharingStore store, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        var result = await bus.RequestAsync<ErasePatientRequest, ErasePatientResult>(new ErasePatientRequest(patientId, principal.Subject), ct).ConfigureAwait(false);
        long sharingRows = store.ErasePatient(patientId);
        return TypedResults.Ok(new ErasureResult(patientId, result.RowsDeleted, sharingRows));
    }

    private static IResult? ParseListArgs(string? from, string? to, int? limit, SharingOptions o, TimeProvider time, out DateTimeOffset start, out DateTimeOffset end, out int max)
    {
        max = 0;
        return ParseRange(from, to, TimeSpan.FromHours(o.DefaultRangeHours), TimeSpan.FromDays(366), time.GetUtcNow(), out start, out end)
            ?? ParseLimit(limit, MaxListLimit, out max);
    }

    private static IResult NotFound(string patientId) =>
        Problem(StatusCodes.Status404NotFound, "Not found", $"No patient '{patientId}' is known to this twin.");
}

/// <summary>Answer of <c>GET /api/twins</c>.</summary>
/// <param name="Patients">The patients the caller may see.</param>
public sealed record TwinList(IReadOnlyList<PatientSummary> Patients);

/// <summary>Answer of <c>GET /api/twins/{patientId}/ecg</c>.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start (inclusive, UTC).</param>
/// <param name="To">Range end (exclusive, UTC).</param>
/// <param name="Lead">The lead asked for, or null for all.</param>
/// <param name="Format">"raw" or "mv".</param>
/// <param name="Segments">Contiguous segments in time order.</param>
public sealed record EcgResponse(string PatientId, DateTimeOffset From, DateTimeOffset To, string? Lead, string Format, IReadOnlyList<EcgSegment> Segments);

/// <summary>One contiguous run of samples; physical value = (sample - baseline) / gain.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="Sequence">The batch sequence it came in.</param>
/// <param name="StartTime">UTC time of the first sample.</param>
/// <param name="SampleRateHz">Samples per second per lead.</param>
/// <param name="Leads">Lead names with gain (ADC units per mV), baseline and units, in the order of the arrays.</param>
/// <param name="Samples">Integer samples per lead exactly as stored (format raw).</param>
/// <param name="Millivolts">Samples per lead in physical units (format mv).</param>
public sealed record EcgSegment(string DeviceId, long Sequence, DateTimeOffset StartTime, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][]? Samples, float[][]? Millivolts);

/// <summary>A list of items of a patient in a time range.</summary>
/// <typeparam name="T">Item type.</typeparam>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start (UTC).</param>
/// <param name="To">Range end (UTC).</param>
/// <param name="Items">The items in time order.</param>
public sealed record RangeList<T>(string PatientId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<T> Items);

/// <summary>A vital-sign observation with its device and LOINC code.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="Code">One of <see cref="VitalCodes"/>.</param>
/// <param name="Value">The value.</param>
/// <param name="Unit">UCUM unit.</param>
/// <param name="Time">UTC time of the measurement.</param>
/// <param name="Loinc">LOINC code, if the vital has one.</param>
public sealed record VitalView(string DeviceId, string Code, double Value, string Unit, DateTimeOffset Time, string? Loinc)
{
    internal static VitalView From((string DeviceId, VitalObservation Observation) o) =>
        new(o.DeviceId, o.Observation.Code, o.Observation.Value, o.Observation.Unit, o.Observation.Time,
            VitalCodes.All.TryGetValue(o.Observation.Code, out var info) ? info.Loinc : null);
}

/// <summary>The first event of a live stream: which categories the client will receive and which the policy withheld.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="Categories">Categories the client receives.</param>
/// <param name="Withheld">Categories the policy denied, with its reasons.</param>
public sealed record StreamReady(string PatientId, IReadOnlyList<string> Categories, IReadOnlyDictionary<string, string> Withheld);

/// <summary>The GDPR export of one patient.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="ExportedAt">UTC time of the export.</param>
/// <param name="Patient">Devices and latest state.</param>
/// <param name="Samples">Every stored ECG segment (integer samples with gain and baseline).</param>
/// <param name="Beats">Every stored beat.</param>
/// <param name="Windows">Every acquired window.</param>
/// <param name="Events">Every event with its decision and command status.</param>
/// <param name="Vitals">Every vital-sign observation.</param>
/// <param name="Audit">The audit entries about the patient.</param>
/// <param name="Inbox">Shares about the patient other twins delivered.</param>
/// <param name="Withheld">Categories the policy withheld, with its reasons.</param>
/// <param name="Unavailable">Parts no block answered for.</param>
public sealed record PatientExport(
    string PatientId, DateTimeOffset ExportedAt, PatientSummary Patient, IReadOnlyList<SampleSegment>? Samples, IReadOnlyList<StoredBeat>? Beats,
    IReadOnlyList<WindowAcquired>? Windows, IReadOnlyList<StoredAction>? Events, IReadOnlyList<VitalView>? Vitals, IReadOnlyList<AuditRecorded>? Audit,
    IReadOnlyList<InboxEntry> Inbox, IReadOnlyDictionary<string, string> Withheld, IReadOnlyList<string> Unavailable);

/// <summary>Answer of <c>DELETE /api/twins/{patientId}</c>.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="RowsDeleted">Rows Storage removed.</param>
/// <param name="SharingRowsDeleted">Outbox and inbox rows Sharing removed.</param>
public sealed record ErasureResult(string PatientId, long RowsDeleted, long SharingRowsDeleted);
