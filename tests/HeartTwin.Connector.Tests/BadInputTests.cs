using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Connector.Tests;

/// <summary>One host for the whole table: patch-1 has stored sequence 5; patch-2 exists.</summary>
public sealed class BadInputHost : IAsyncLifetime
{
    public TestHost Host { get; private set; } = null!;
    public DeviceCredentialsDto Patch1 { get; private set; } = null!;
    public DeviceCredentialsDto Patch2 { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync();
        Patch1 = await Host.RegisterAsync("patch-1");
        Patch2 = await Host.RegisterAsync("patch-2");
        using var device = Host.DeviceClient(Patch1.Token);
        (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(5))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class BadInputTests(BadInputHost fixture) : IClassFixture<BadInputHost>
{
    public static TheoryData<string, int, string> Cases => new()
    {
        { "wrong token", 401, ErrorCodes.Unauthorized },
        { "no token", 401, ErrorCodes.Unauthorized },
        { "another device's token", 403, ErrorCodes.Forbidden },
        { "malformed JSON", 400, ErrorCodes.Malformed },
        { "a fraction where an ADC integer belongs", 400, ErrorCodes.Malformed },
        { "no sequence", 400, ErrorCodes.Malformed },
        { "truncated binary", 400, ErrorCodes.Malformed },
        { "wrong lead count (2 leads, 1 sample array)", 422, ErrorCodes.InvalidSamples },
        { "no leads", 422, ErrorCodes.InvalidLeads },
        { "17 leads", 422, ErrorCodes.InvalidLeads },
        { "duplicate lead names", 422, ErrorCodes.InvalidLeads },
        { "zero gain", 422, ErrorCodes.InvalidLeads },
        { "ragged leads", 422, ErrorCodes.InvalidSamples },
        { "absurd rate", 422, ErrorCodes.InvalidRate },
        { "batch longer than 60 s", 422, ErrorCodes.BatchTooLong },
        { "sample beyond int16", 422, ErrorCodes.ValueOutOfRange },
        { "sample beyond 50 mV", 422, ErrorCodes.ValueOutOfRange },
        { "start time in the future", 422, ErrorCodes.InvalidStartTime },
        { "no start time", 422, ErrorCodes.InvalidStartTime },
        { "unknown vital", 422, ErrorCodes.InvalidObservation },
        { "implausible SpO2", 422, ErrorCodes.InvalidObservation },
        { "wrong unit", 422, ErrorCodes.InvalidObservation },
        { "empty batch", 422, ErrorCodes.EmptyBatch },
        { "oversized body", 413, ErrorCodes.PayloadTooLarge },
        { "text/plain body", 415, ErrorCodes.UnsupportedMediaType },
        { "replayed sequence", 409, ErrorCodes.ReplayedSequence },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_refused_with_a_problem_and_nothing_is_stored(string @case, int status, string code)
    {
        var host = fixture.Host;
        int before = host.Recorder.SampleDeliveries;
        long rejectedBefore = host.Stats.RejectedByReason.GetValueOrDefault(code);
        using var request = Build(@case);

        using var client = new HttpClient { BaseAddress = host.Http.BaseAddress };
        var response = await client.SendAsync(request);

        ((int)response.StatusCode).ShouldBe(status, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = (await response.Content.ReadFromJsonAsync<JsonElement>())!;
        problem.GetProperty("type").GetString().ShouldBe(Rejection.TypeBase + code);
        problem.GetProperty("status").GetInt32().ShouldBe(status);
        problem.GetProperty("detail").GetString().ShouldNotBeNullOrWhiteSpace();
        host.Recorder.SampleDeliveries.ShouldBe(before);
        host.Stats.RejectedByReason.GetValueOrDefault(code).ShouldBe(rejectedBefore + 1);
    }

    private HttpRequestMessage Build(string @case)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/devices/patch-1/samples");
        string token = fixture.Patch1.Token;
        var dto = Batches.Dto(6);
        HttpContent? content = null;
        switch (@case)
        {
            case "wrong token": token = "htd_" + new string('0', 64); break;
            case "no token": token = ""; break;
            case "another device's token": token = fixture.Patch2.Token; break;
            case "malformed JSON": content = Batches.Raw("{\"sequence\": 6, \"samples\": [[1,2,"); break;
            case "a fraction where an ADC integer belongs": content = Batches.Raw("{\"sequence\": 6, \"samples\": [[1.5]]}"); break;
            case "no sequence": dto.Sequence = null; break;
            case "truncated binary":
                content = new ByteArrayContent(Batches.Binary(6)[..40]);
                content.Headers.ContentType = new MediaTypeHeaderValue(BinarySampleBatch.ContentType);
                break;
            case "wrong lead count (2 leads, 1 sample array)": dto.Samples!.RemoveAt(1); break;
            case "no leads": dto.Leads!.Clear(); break;
            case "17 leads":
                dto.Leads = [.. Enumerable.Range(0, 17).Select(i => new LeadDto { Name = $"L{i}", Gain = 200 })];
                dto.Samples = [.. Enumerable.Range(0, 17).Select(_ => new List<int> { 0, 1 })];
                break;
            case "duplicate lead names": dto.Leads![1].Name = dto.Leads[0].Name; break;
            case "zero gain": dto.Leads![0].Gain = 0; break;
            case "ragged leads": dto.Samples![1].RemoveAt(0); break;
            case "absurd rate": dto.SampleRateHz = 1e6; break;
            case "batch longer than 60 s": dto.Samples = [.. dto.Samples!.Select(l => Enumerable.Repeat(1024, 360 * 61).ToList())]; break;
            case "sample beyond int16": dto.Samples![0][0] = 40_000; break;
            case "sample beyond 50 mV": dto.Samples![0][0] = 1024 + (200 * 51); break;
            case "start time in the future": dto.StartTime = DateTimeOffset.UtcNow.AddDays(1); break;
            case "no start time": dto.StartTime = null; break;
            case "unknown vital": dto.Observations = [new ObservationDto { Code = "glucose", Value = 5, Unit = "mmol/L", Time = DateTimeOffset.UtcNow }]; break;
            case "implausible SpO2": dto.Observations = [new ObservationDto { Code = "spo2", Value = 140, Unit = "%", Time = DateTimeOffset.UtcNow }]; break;
            case "wrong unit": dto.Observations = [new ObservationDto { Code = "systolic", Value = 120, Unit = "kPa", Time = DateTimeOffset.UtcNow }]; break;
            case "empty batch": dto.Leads = null; dto.Samples = null; break;
            case "oversized body": content = Batches.Raw("{\"sequence\": 6, \"pad\": \"" + new string('x', 2 * 1024 * 1024) + "\"}"); break;
            case "text/plain body": content = new StringContent("6,1,2,3", System.Text.Encoding.UTF8, "text/plain"); break;
            case "replayed sequence": dto.Sequence = 4; break;
            default: throw new ArgumentException(@case);
        }

        request.Content = content ?? JsonContent.Create(dto);
        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }
}
