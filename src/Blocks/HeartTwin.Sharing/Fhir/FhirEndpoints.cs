using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace HeartTwin.Sharing.Fhir;

/// <summary>FHIR R4 read and search over the twin: Patient, Device, Observation (heart rate, vitals, ECG waveform), Flag.</summary>
internal static class FhirEndpoints
{
    public const string ContentType = "application/fhir+json";
    public const string Loinc = "http://loinc.org";
    public const string HeartRateLoinc = "8867-4";
    public const string Mdc = "urn:oid:2.16.840.1.113883.6.24";
    public const string EcgMdc = "131328";
    public const string Ucum = "http://unitsofmeasure.org";
    private const string ObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category";

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector).Compact();

    public static void Map(IEndpointRouteBuilder app)
    {
        var fhir = app.MapGroup("/fhir").WithTags("FHIR R4");
        fhir.MapGet("/metadata", Metadata).AllowAnonymous().WithSummary("CapabilityStatement.");
        var secured = fhir.MapGroup("").RequireAuthorization(HeartTwinAuthentication.AuthenticatedPolicy);
        secured.MapGet("/Patient/{id}", PatientAsync).WithSummary("A patient.");
        secured.MapGet("/Device", DevicesAsync).WithSummary("Devices of a patient (?patient=).");
        secured.MapGet("/Observation", ObservationsAsync).WithSummary("Heart rate (LOINC 8867-4), vitals, ECG waveforms (MDC 131328, needs ?date=ge..&date=lt..).");
        secured.MapGet("/Flag", FlagsAsync).WithSummary("Detected events as Flags (?patient=&date=).");
    }

    internal static IResult Fhir(Resource resource, int status = StatusCodes.Status200OK) =>
        TypedResults.Text(JsonSerializer.Serialize(resource, resource.GetType(), Json), ContentType, System.Text.Encoding.UTF8, status);

    internal static IResult Outcome(int status, OperationOutcome.IssueType type, string diagnostics) =>
        Fhir(new OperationOutcome
        {
            Issue = [new OperationOutcome.IssueComponent { Severity = OperationOutcome.IssueSeverity.Error, Code = type, Diagnostics = diagnostics }],
        }, status);

    private static IResult Metadata(TimeProvider time)
    {
        var rest = new CapabilityStatement.RestComponent
        {
            Mode = CapabilityStatement.RestfulCapabilityMode.Server,
            Security = new CapabilityStatement.SecurityComponent { Description = "Bearer tokens with SMART-style scopes (patient/*.rs, system/*.rs); the twin's policy filters every answer." },
            Resource =
            [
                Capability(ResourceType.Patient, read: true),
                Capability(ResourceType.Device, read: false, "patient"),
                Capability(ResourceType.Observation, read: false, "patient", "code", "date"),
                Capability(ResourceType.Flag, read: false, "patient", "date"),
            ],
        };
        return Fhir(new CapabilityStatement
        {
            Status = PublicationStatus.Active,
            Date = time.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "HeartTwin" },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = [ContentType],
            Rest = [rest],
        });
    }

    private static CapabilityStatement.ResourceComponent Capability(ResourceType type, bool read, params string[] searchParams)
    {
        var c = new CapabilityStatement.ResourceComponent { Type = type.ToString() };
        if (read)
        {
            c.Interaction.Add(new CapabilityStatement.ResourceInteractionComponent { Code = CapabilityStatement.TypeRestfulInteraction.Read });
        }

        if (searchParams.Length > 0)
        {
            c.Interaction.Add(new CapabilityStatement.ResourceInteractionComponent { Code = CapabilityStatement.TypeRestfulInteraction.SearchType });
            foreach (var p in searchParams)
            {
                c.SearchParam.Add(new CapabilityStatement.SearchParamComponent
                {
                    Name = p,
                    Type = p switch { "date" => SearchParamType.Date, "code" => SearchParamType.Token, _ => SearchParamType.Reference },
                });
            }
        }

        return c;
    }

    private static async Task<IResult> PatientAsync(string id, HttpContext http, IMessageBus bus, SharePolicy policy, CancellationToken ct)
    {
        if (await CheckAsync(http, policy, id, ShareCategories.State, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var summary = await FindAsync(bus, id, ct).ConfigureAwait(false);
        return summary is null
            ? Outcome(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, $"No Patient/{id}.")
            : Fhir(FhirMapper.Patient(summary));
    }

    private static async Task<IResult> DevicesAsync(string? patient, HttpContext http, IMessageBus bus, SharePolicy policy, CancellationToken ct)
    {
        if (PatientParameter(patient) is not { } id)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required, "The 'patient' search parameter is required.");
        }

        if (await CheckAsync(http, policy, id, ShareCategories.State, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var summary = await FindAsync(bus, id, ct).ConfigureAwait(false);
        var devices = summary?.Devices.Select(d => (Resource)FhirMapper.Device(d, id)).ToList() ?? [];
        return Fhir(FhirMapper.SearchSet(BaseUrl(http), devices));
    }

    private static async Task<IResult> ObservationsAsync(HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct)
    {
        var query = http.Request.Query;
        if (PatientParameter(query["patient"]) is not { } id)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required, "The 'patient' search parameter is required.");
        }

        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.CanRead(id))
        {
            return Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, $"The token does not grant access to Patient/{id}.");
        }

        var codes = query["code"].SelectMany(c => (c ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(c => c.Contains('|', StringComparison.Ordinal) ? c[(c.IndexOf('|', StringComparison.Ordinal) + 1)..] : c).ToHashSet(StringComparer.Ordinal);
        var vitalLoincs = VitalCodes.All.Where(v => v.Value.Loinc is not null).ToDictionary(v => v.Value.Loinc!, v => v.Key, StringComparer.Ordinal);
        var unknown = codes.Where(c => c != HeartRateLoinc && c != EcgMdc && !vitalLoincs.ContainsKey(c)).ToList();
        if (unknown.Count > 0)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported,
                $"Unsupported code(s): {string.Join(", ", unknown)}. Supported: LOINC {HeartRateLoinc} and {string.Join(", ", vitalLoincs.Keys)}; MDC {EcgMdc} (ECG waveform).");
        }

        bool all = codes.Count == 0;
        bool ecg = codes.Contains(EcgMdc);
        if (ParseDates(query["date"], out var from, out var to, out string? dateError) is false)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, dateError!);
        }

        if (ecg && (from is null || to is null))
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required, "ECG waveforms (code 131328) need a range: date=geFROM&date=ltTO (ISO-8601 UTC).");
        }

        var now = time.GetUtcNow();
        var end = to ?? now;
        var start = from ?? end - TimeSpan.FromHours(options.Value.DefaultRangeHours);
        if (end <= start)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, "The date range is empty.");
        }

        if (ecg && (end - start).TotalSeconds > options.Value.MaxEcgRangeSeconds)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.TooCostly,
                FormattableString.Invariant($"ECG ranges are at most {options.Value.MaxEcgRangeSeconds} s."));
        }

        var resources = new List<Resource>();
        if (all || codes.Contains(HeartRateLoinc))
        {
            if (await AllowedAsync(principal, policy, id, ShareCategories.State, ct).ConfigureAwait(false) is { } denied)
            {
                return denied;
            }

            var summary = await FindAsync(bus, id, ct).ConfigureAwait(false);
            if (summary?.State is { HeartRateBpm: not null } state)
            {
                // The latest state is the heart rate; a date filter applies only when the caller gives one.
                var t = state.SignalTime ?? state.UpdatedAt;
                if ((from is null || t >= from) && (to is null || t < to))
                {
                    resources.Add(FhirMapper.HeartRate(state));
                }
            }
        }

        var wantedVitals = all ? vitalLoincs.Values.ToHashSet(StringComparer.Ordinal) : codes.Where(vitalLoincs.ContainsKey).Select(c => vitalLoincs[c]).ToHashSet(StringComparer.Ordinal);
        if (wantedVitals.Count > 0)
        {
            if (await AllowedAsync(principal, policy, id, ShareCategories.Vitals, ct).ConfigureAwait(false) is { } denied)
            {
                return denied;
            }

            var vitals = await bus.RequestAsync<VitalsQuery, VitalsResult>(new VitalsQuery(id, start, end), ct).ConfigureAwait(false);
            resources.AddRange(vitals.Observations.Where(v => wantedVitals.Contains(v.Observation.Code)).Select(v => FhirMapper.Vital(id, v.DeviceId, v.Observation)));
        }

        if (ecg)
        {
            if (await AllowedAsync(principal, policy, id, ShareCategories.Ecg, ct).ConfigureAwait(false) is { } denied)
            {
                return denied;
            }

            SamplesResult samples;
            try
            {
                samples = await bus.RequestAsync<SamplesQuery, SamplesResult>(new SamplesQuery(id, start, end, null, options.Value.MaxEcgSamplesPerLead), ct).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.TooCostly, ex.Message);
            }

            resources.AddRange(samples.Segments.Select(s => FhirMapper.Ecg(id, s)));
        }

        return Fhir(FhirMapper.SearchSet(BaseUrl(http), resources));
    }

    private static async Task<IResult> FlagsAsync(HttpContext http, IMessageBus bus, SharePolicy policy, IOptions<SharingOptions> options, TimeProvider time, CancellationToken ct)
    {
        var query = http.Request.Query;
        if (PatientParameter(query["patient"]) is not { } id)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required, "The 'patient' search parameter is required.");
        }

        if (ParseDates(query["date"], out var from, out var to, out string? dateError) is false)
        {
            return Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, dateError!);
        }

        if (await CheckAsync(http, policy, id, ShareCategories.Events, ct).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var end = to ?? time.GetUtcNow();
        var start = from ?? end - TimeSpan.FromHours(options.Value.DefaultRangeHours);
        var events = await bus.RequestAsync<EventsQuery, EventsResult>(new EventsQuery(id, start, end), ct).ConfigureAwait(false);
        return Fhir(FhirMapper.SearchSet(BaseUrl(http), [.. events.Actions.Select(a => (Resource)FhirMapper.Flag(a))]));
    }

    private static async Task<IResult?> CheckAsync(HttpContext http, SharePolicy policy, string patientId, string category, CancellationToken ct)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        return principal.CanRead(patientId)
            ? await AllowedAsync(principal, policy, patientId, category, ct).ConfigureAwait(false)
            : Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, $"The token does not grant access to Patient/{patientId}.");
    }

    private static async Task<IResult?> AllowedAsync(HeartTwinPrincipal principal, SharePolicy policy, string patientId, string category, CancellationToken ct)
    {
        var decision = await policy.DecideAsync(principal.Subject, principal.Scopes, patientId, category, SharePurposes.Fhir, ct).ConfigureAwait(false);
        return decision.Allowed ? null : Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, $"Denied by policy ({decision.Rule}): {decision.Reason}");
    }

    private static async Task<PatientSummary?> FindAsync(IMessageBus bus, string id, CancellationToken ct)
    {
        var result = await bus.RequestAsync<PatientsQuery, PatientsResult>(new PatientsQuery([id]), ct).ConfigureAwait(false);
        return result.Patients.FirstOrDefault(p => p.PatientId == id);
    }

    /// <summary>Accepts "ID" and "Patient/ID".</summary>
    private static string? PatientParameter(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return value.StartsWith("Patient/", StringComparison.Ordinal) ? value["Patient/".Length..] : value;
    }

    /// <summary>Reads FHIR date parameters with the prefixes ge/gt (start) and lt/le (end); no prefix means eq, taken as ge.</summary>
    private static bool ParseDates(Microsoft.Extensions.Primitives.StringValues values, out DateTimeOffset? from, out DateTimeOffset? to, out string? error)
    {
        from = to = null;
        error = null;
        foreach (var v in values)
        {
            if (string.IsNullOrWhiteSpace(v))
            {
                continue;
            }

            string prefix = v.Length > 2 && char.IsLetter(v[0]) && char.IsLetter(v[1]) ? v[..2] : "eq";
            string text = prefix == "eq" ? v : v[2..];
            if (!Api.ApiHelpers.TryParseTime(text, out var t))
            {
                error = $"'date={v}' is not a FHIR date search value such as ge2024-05-01T10:00:00Z.";
                return false;
            }

            switch (prefix)
            {
                case "ge" or "gt" or "eq" or "sa":
                    from = t;
                    break;
                case "lt" or "le" or "eb":
                    to = t;
                    break;
                default:
                    error = $"Unsupported date prefix '{prefix}'; use ge and lt.";
                    return false;
            }
        }

        return true;
    }

    private static string BaseUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}/fhir";
}
