using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HeartTwin.Contracts;
using Hl7.Fhir.Model;

namespace HeartTwin.Sharing.Fhir;

/// <summary>Maps the twin's records to FHIR R4 resources.</summary>
internal static class FhirMapper
{
    private const string PatientSystem = "urn:hearttwin:patient";
    private const string DeviceSystem = "urn:hearttwin:device";
    private const string EventSystem = "urn:hearttwin:event-type";

    public static Patient Patient(PatientSummary summary) => new()
    {
        Id = FhirId(summary.PatientId),
        Identifier = [new Identifier(PatientSystem, summary.PatientId)],
        Active = true,
    };

    public static Device Device(string deviceId, string patientId) => new()
    {
        Id = FhirId(deviceId),
        Identifier = [new Identifier(DeviceSystem, deviceId)],
        Status = Hl7.Fhir.Model.Device.FHIRDeviceStatus.Active,
        Patient = PatientRef(patientId),
    };

    public static Observation HeartRate(TwinState state)
    {
        var t = state.SignalTime ?? state.UpdatedAt;
        return new Observation
        {
            Id = FhirId($"hr-{state.PatientId}-{t.UtcTicks}"),
            Status = ObservationStatus.Final,
            Category = [VitalSigns()],
            Code = new CodeableConcept(FhirEndpoints.Loinc, FhirEndpoints.HeartRateLoinc, "Heart rate", "Heart rate"),
            Subject = PatientRef(state.PatientId),
            Effective = new FhirDateTime(t),
            Issued = state.UpdatedAt,
            Device = state.DeviceId is null ? null : new ResourceReference($"Device/{FhirId(state.DeviceId)}"),
            Value = new Quantity { Value = (decimal)Math.Round(state.HeartRateBpm!.Value, 1), Unit = "beats/minute", System = FhirEndpoints.Ucum, Code = "/min" },
        };
    }

    public static Observation Vital(string patientId, string deviceId, VitalObservation v)
    {
        var (unit, _, _, loinc) = VitalCodes.All[v.Code];
        return new Observation
        {
            Id = FhirId($"vital-{deviceId}-{v.Code}-{v.Time.UtcTicks}"),
            Status = ObservationStatus.Final,
            Category = [VitalSigns()],
            Code = new CodeableConcept(FhirEndpoints.Loinc, loinc, v.Code),
            Subject = PatientRef(patientId),
            Effective = new FhirDateTime(v.Time),
            Device = new ResourceReference($"Device/{FhirId(deviceId)}"),
            Value = new Quantity { Value = (decimal)v.Value, Unit = unit, System = FhirEndpoints.Ucum, Code = unit },
        };
    }

    /// <summary>
    /// An ECG segment as SampledData (MDC 131328): the integer samples as stored, with factor = 1/gain and
    /// origin = -baseline/gain mV so that origin + factor × sample is the value in mV. When every lead shares gain and
    /// baseline, one SampledData holds all leads interleaved (dimensions = lead count); otherwise one component per lead.
    /// </summary>
    public static Observation Ecg(string patientId, SampleSegment s)
    {
        decimal period = (decimal)Math.Round(1000.0 / s.SampleRateHz, 6);
        int n = s.Samples.Length == 0 ? 0 : s.Samples[0].Length;
        var end = s.StartTime + TimeSpan.FromSeconds(n / s.SampleRateHz);
        var obs = new Observation
        {
            Id = FhirId($"ecg-{s.DeviceId}-{s.Sequence}-{s.StartTime.UtcTicks}"),
            Status = ObservationStatus.Final,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", "procedure")],
            Code = new CodeableConcept(FhirEndpoints.Mdc, FhirEndpoints.EcgMdc, "MDC_ECG_ELEC_POTL", $"ECG {string.Join(", ", s.Leads.Select(l => l.Name))}"),
            Subject = PatientRef(patientId),
            Effective = new Period(new FhirDateTime(s.StartTime), new FhirDateTime(end)),
            Device = new ResourceReference($"Device/{FhirId(s.DeviceId)}"),
        };
        bool shared = s.Leads.All(l => l.Gain == s.Leads[0].Gain && l.Baseline == s.Leads[0].Baseline);
        if (shared && s.Leads.Count > 0)
        {
            obs.Value = Sampled(s.Leads[0], period, s.Leads.Count, Interleave(s.Samples, n));
        }
        else
        {
            for (int l = 0; l < s.Leads.Count; l++)
            {
                obs.Component.Add(new Observation.ComponentComponent
                {
                    Code = new CodeableConcept(FhirEndpoints.Mdc, FhirEndpoints.EcgMdc, "MDC_ECG_ELEC_POTL", s.Leads[l].Name),
                    Value = Sampled(s.Leads[l], period, 1, string.Join(' ', s.Samples[l].Select(v => v.ToString(CultureInfo.InvariantCulture)))),
                });
            }
        }

        return obs;
    }

    private static SampledData Sampled(LeadInfo lead, decimal period, int dimensions, string data) => new()
    {
        Origin = new Quantity { Value = (decimal)(-lead.Baseline / lead.Gain), Unit = lead.Units, System = FhirEndpoints.Ucum, Code = lead.Units },
        Period = period,
        Factor = (decimal)(1.0 / lead.Gain),
        Dimensions = dimensions,
        Data = data,
    };

    private static string Interleave(int[][] samples, int n)
    {
        var sb = new StringBuilder(n * samples.Length * 5);
        for (int i = 0; i < n; i++)
        {
            for (int l = 0; l < samples.Length; l++)
            {
                if (sb.Length > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(samples[l][i].ToString(CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    public static Flag Flag(StoredAction a)
    {
        var p = a.Proposal;
        var flag = new Flag
        {
            Id = FhirId($"event-{p.ActionId}"),
            Status = Hl7.Fhir.Model.Flag.FlagStatus.Active,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/flag-category", "clinical", "Clinical")],
            Code = new CodeableConcept(EventSystem, p.EventType, p.EventType, p.Reason),
            Subject = PatientRef(p.PatientId),
            Period = new Period { Start = new FhirDateTime(p.OccurredAt).Value },
        };
        flag.Extension.Add(new Extension("urn:hearttwin:severity", new Code(p.Severity)));
        if (a.Decision is { } d)
        {
            flag.Extension.Add(new Extension("urn:hearttwin:policy-decision", new FhirString($"{(d.Allowed ? "allowed" : "denied")} by {d.Rule}: {d.Reason}")));
        }

        return flag;
    }

    public static Bundle SearchSet(string baseUrl, IReadOnlyList<Resource> resources)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = resources.Count, Timestamp = DateTimeOffset.UtcNow };
        foreach (var r in resources)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/{r.TypeName}/{r.Id}",
                Resource = r,
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            });
        }

        return bundle;
    }

    private static CodeableConcept VitalSigns() =>
        new("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs");

    private static ResourceReference PatientRef(string patientId) => new($"Patient/{FhirId(patientId)}");

    /// <summary>
    /// FHIR ids are [A-Za-z0-9-.]{1,64}. Ids that already fit are kept; others become a readable prefix and a hash,
    /// so that the same record always gets the same id. The original id stays in the resource's identifier.
    /// </summary>
    public static string FhirId(string raw)
    {
        if (raw.Length is > 0 and <= 64 && raw.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
        {
            return raw;
        }

        var clean = new string([.. raw.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-').Take(40)]);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..16];
        return $"{clean}-{hash}";
    }
}
