using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HeartTwin.Contracts.Wire;
using MQTTnet;
using MQTTnet.Protocol;

namespace HeartTwin.IntegrationTests;

/// <summary>The table of bad inputs, each with its expected answer, against the real twin.</summary>
[Trait("Issue", "4")]
public sealed class BadInputTests(TwinFixture twin) : IClassFixture<TwinFixture>
{
    private static string Batch(long sequence, double rate = 360, int leadsDeclared = 2, int arrays = 2, int samples = 360) =>
        JsonSerializer.Serialize(new
        {
            sequence,
            startTime = DateTimeOffset.UtcNow.AddMinutes(-2).AddSeconds(sequence % 100),
            sampleRateHz = rate,
            leads = Enumerable.Range(0, leadsDeclared).Select(i => new { name = i == 0 ? "MLII" : "V1", gain = 200.0, baseline = 0, units = "mV" }),
            samples = Enumerable.Range(0, arrays).Select(_ => Enumerable.Repeat(10, samples)),
        });

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string device, string? token, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/devices/{device}/samples") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await client.SendAsync(request);
    }

    public static TheoryData<string, HttpStatusCode> Cases => new()
    {
        { "wrong-token", HttpStatusCode.Unauthorized },
        { "no-token", HttpStatusCode.Unauthorized },
        { "malformed-json", HttpStatusCode.BadRequest },
        { "wrong-lead-count", HttpStatusCode.UnprocessableEntity },
        { "absurd-rate", HttpStatusCode.UnprocessableEntity },
        { "oversized-body", HttpStatusCode.RequestEntityTooLarge },
        { "replayed-sequence", HttpStatusCode.Conflict },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_device_input_gets_a_clear_problem_and_nothing_is_stored(string badCase, HttpStatusCode expected)
    {
        var creds = await twin.RegisterAsync($"bad-{badCase}", $"bad-p-{badCase}");
        using var http = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        (await PostAsync(http, creds.DeviceId, creds.Token, Batch(1000))).StatusCode.ShouldBe(HttpStatusCode.OK);
        if (badCase == "replayed-sequence")
        {
            (await PostAsync(http, creds.DeviceId, creds.Token, Batch(1001))).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using var response = badCase switch
        {
            "wrong-token" => await PostAsync(http, creds.DeviceId, "htd_" + new string('0', 64), Batch(1001)),
            "no-token" => await PostAsync(http, creds.DeviceId, null, Batch(1001)),
            "malformed-json" => await PostAsync(http, creds.DeviceId, creds.Token, "{\"sequence\": 1001, \"samples\": [[1,2,"),
            "wrong-lead-count" => await PostAsync(http, creds.DeviceId, creds.Token, Batch(1001, leadsDeclared: 2, arrays: 1)),
            "absurd-rate" => await PostAsync(http, creds.DeviceId, creds.Token, Batch(1001, rate: 1e9)),
            "oversized-body" => await PostAsync(http, creds.DeviceId, creds.Token, Batch(1001, samples: 300_000)),
            "replayed-sequence" => await PostAsync(http, creds.DeviceId, creds.Token, Batch(1000)),
            _ => throw new ArgumentOutOfRangeException(nameof(badCase)),
        };

        response.StatusCode.ShouldBe(expected);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("detail").GetString().ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task A_duplicate_batch_is_acknowledged_and_not_stored_twice()
    {
        var creds = await twin.RegisterAsync("bad-dup", "bad-p-dup");
        using var http = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        string body = Batch(5000);
        (await PostAsync(http, creds.DeviceId, creds.Token, body)).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var again = await PostAsync(http, creds.DeviceId, creds.Token, body);
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await again.Content.ReadAsStringAsync()).ShouldContain("duplicate");
    }

    [Fact]
    public async Task Another_patients_twin_is_refused()
    {
        await twin.RegisterAsync("bad-own-dev", "bad-own");
        await twin.RegisterAsync("bad-other-dev", "bad-other");
        using var tokenResponse = await twin.Admin.PostAsJsonAsync("/api/tokens", new { subject = "nurse-1", scopes = ReadScope, patients = OwnPatient, lifetimeHours = 1 });
        string token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using var nurse = new HttpClient { BaseAddress = new Uri(twin.BaseUrl) };
        nurse.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        (await nurse.GetAsync("/api/twins/bad-other")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await nurse.GetAsync("/api/twins/bad-other/ecg")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await nurse.GetStringAsync("/api/twins")).ShouldNotContain("bad-other");
        (await twin.Anonymous.GetAsync("/api/twins")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    private static readonly string[] ReadScope = ["patient/*.rs"];
    private static readonly string[] OwnPatient = ["bad-own"];

    [Fact]
    public async Task Garbage_on_MQTT_is_dropped_and_reported_on_the_errors_topic()
    {
        var creds = await twin.RegisterAsync("bad-mqtt", "bad-p-mqtt");
        using var client = new MqttClientFactory().CreateMqttClient();
        var errors = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            errors.TrySetResult(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", twin.MqttPort)
            .WithClientId("bad-mqtt").WithCredentials(creds.MqttUsername, creds.MqttPassword).Build());
        await client.SubscribeAsync(DeviceTopics.Errors(creds.DeviceId), MqttQualityOfServiceLevel.AtLeastOnce);
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(DeviceTopics.Samples(creds.DeviceId))
            .WithPayload("\u0001\u0002 this is not a batch").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        string report = await errors.Task.WaitAsync(TimeSpan.FromSeconds(10));
        report.ShouldContain("error");
        client.IsConnected.ShouldBeTrue("a bad message is dropped, the device is not disconnected");
    }
}
