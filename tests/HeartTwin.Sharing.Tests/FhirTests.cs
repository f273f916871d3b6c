using System.Net;
using HeartTwin.ServiceDefaults;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace HeartTwin.Sharing.Tests;

public sealed class FhirTests : IAsyncLifetime
{
    private const string EcgRange = "date=ge2024-05-01T10:00:00Z&date=lt2024-05-01T10:00:02Z";
    private readonly FhirJsonDeserializer parser = new();
    private SharingHost host = null!;

    public async Task InitializeAsync() => host = await SharingHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private async Task<T> GetAsync<T>(HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK) where T : Resource
    {
        var response = await client.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, body);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/fhir+json");
        return parser.Deserialize<T>(body);
    }

    [Fact]
    public async Task Metadata_is_a_capability_statement_without_a_token()
    {
        using var anonymous = host.Client(null);
        var cs = await GetAsync<CapabilityStatement>(anonymous, "/fhir/metadata");
        cs.FhirVersion.ShouldBe(FHIRVersion.N4_0_1);
        cs.Rest[0].Resource.Select(r => r.Type).ShouldBe(["Patient", "Device", "Observation", "Flag"]);
    }

    [Fact]
    public async Task Patient_and_its_devices()
    {
        using var admin = host.Client();
        var patient = await GetAsync<Patient>(admin, "/fhir/Patient/p1");
        patient.Id.ShouldBe("p1");
        var devices = await GetAsync<Bundle>(admin, "/fhir/Device?patient=Patient/p1");
        devices.Type.ShouldBe(Bundle.BundleType.Searchset);
        var device = devices.Entry.Single().Resource.ShouldBeOfType<Device>();
        device.Id.ShouldBe("d1");
        device.Patient!.Reference!.ShouldBe("Patient/p1");
        var missing = await GetAsync<OperationOutcome>(admin, "/fhir/Patient/nobody", HttpStatusCode.NotFound);
        missing.Issue[0].Code.ShouldBe(OperationOutcome.IssueType.NotFound);
    }

    [Fact]
    public async Task Heart_rate_is_loinc_8867_4_from_the_twin_state()
    {
        using var admin = host.Client();
        var bundle = await GetAsync<Bundle>(admin, "/fhir/Observation?patient=p1&code=http://loinc.org|8867-4");
        var obs = bundle.Entry.Single().Resource.ShouldBeOfType<Observation>();
        obs.Code.Coding[0].System!.ShouldBe("http://loinc.org");
        obs.Code.Coding[0].Code.ShouldBe("8867-4");
        var q = obs.Value.ShouldBeOfType<Quantity>();
        q.Value!.Value.ShouldBe(72.4m);
        q.Code.ShouldBe("/min");
        obs.Subject!.Reference!.ShouldBe("Patient/p1");
        host.Policy.Requests.ShouldContain(r => r.Purpose == "fhir" && r.Category == "state");
    }

    [Fact]
    public async Task Vital_signs_carry_their_loinc_codes()
    {
        using var admin = host.Client();
        var bundle = await GetAsync<Bundle>(admin, "/fhir/Observation?patient=p1&code=59408-5&date=ge2024-05-01T10:00:00Z&date=lt2024-05-01T11:00:00Z");
        var obs = bundle.Entry.Single().Resource.ShouldBeOfType<Observation>();
        obs.Code.Coding[0].Code.ShouldBe("59408-5");
        obs.Value.ShouldBeOfType<Quantity>().Value!.Value.ShouldBe(97m);
    }

    [Fact]
    public async Task Ecg_is_sampled_data_with_mdc_131328_and_the_stored_samples()
    {
        using var admin = host.Client();
        var bundle = await GetAsync<Bundle>(admin, $"/fhir/Observation?patient=p1&code=131328&{EcgRange}");
        var obs = bundle.Entry.Single().Resource.ShouldBeOfType<Observation>();
        obs.Code.Coding[0].System.ShouldBe("urn:oid:2.16.840.1.113883.6.24");
        obs.Code.Coding[0].Code.ShouldBe("131328");
        var sd = obs.Value.ShouldBeOfType<SampledData>();
        sd.Dimensions.ShouldBe(2);
        sd.Factor!.Value.ShouldBe(0.005m);
        sd.Origin.Value!.Value.ShouldBe(-5.12m);
        sd.Period!.Value.ShouldBe(2.777778m);
        var values = sd.Data!.Split(' ').Select(int.Parse).ToArray();
        var (_, samples, _) = TestData.First10SecondsOf101;
        values.Length.ShouldBe(2 * 720);
        values.Where((_, i) => i % 2 == 0).ShouldBe(samples[0][..720]);
        values.Where((_, i) => i % 2 == 1).ShouldBe(samples[1][..720]);
    }

    [Fact]
    public async Task Events_are_flags()
    {
        using var admin = host.Client();
        var bundle = await GetAsync<Bundle>(admin, "/fhir/Flag?patient=p1&date=ge2024-05-01T10:00:00Z&date=lt2024-05-01T11:00:00Z");
        bundle.Entry.Select(e => e.Resource.ShouldBeOfType<Flag>().Code.Coding[0].Code!).ShouldBe(["ventricular-run", "heart-rate-high"]);
    }

    [Fact]
    public async Task Errors_are_operation_outcomes()
    {
        using var admin = host.Client();
        (await GetAsync<OperationOutcome>(admin, "/fhir/Observation?code=8867-4", HttpStatusCode.BadRequest)).Issue[0].Diagnostics!.ShouldContain("patient");
        (await GetAsync<OperationOutcome>(admin, "/fhir/Observation?patient=p1&code=131328", HttpStatusCode.BadRequest)).Issue[0].Diagnostics!.ShouldContain("date");
        (await GetAsync<OperationOutcome>(admin, "/fhir/Observation?patient=p1&code=1234-5", HttpStatusCode.BadRequest)).Issue[0].Code.ShouldBe(OperationOutcome.IssueType.NotSupported);
        (await GetAsync<OperationOutcome>(admin, "/fhir/Observation?patient=p1&date=gtyesterday", HttpStatusCode.BadRequest)).Issue[0].Code.ShouldBe(OperationOutcome.IssueType.Invalid);

        using var other = host.Client(host.Token("clinic-a", [Scopes.PatientRead], "p2"));
        (await GetAsync<OperationOutcome>(other, "/fhir/Patient/p1", HttpStatusCode.Forbidden)).Issue[0].Code.ShouldBe(OperationOutcome.IssueType.Forbidden);
        (await GetAsync<OperationOutcome>(other, $"/fhir/Observation?patient=p1&code=131328&{EcgRange}", HttpStatusCode.Forbidden)).Issue[0].Code.ShouldBe(OperationOutcome.IssueType.Forbidden);

        host.Policy.Allow = r => r.Category != "ecg";
        var denied = await GetAsync<OperationOutcome>(admin, $"/fhir/Observation?patient=p1&code=131328&{EcgRange}", HttpStatusCode.Forbidden);
        denied.Issue[0].Diagnostics!.ShouldContain("no consent");
        host.Storage.Queries.OfType<HeartTwin.Contracts.SamplesQuery>().ShouldBeEmpty();
    }
}
