using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Adapter;

namespace HeartTwin.SystemTests;

/// <summary>Bad input and wrong credentials get the same answers (status, problem type) from the distributed twin as from the one-process twin.</summary>
[Collection(SystemTestGroup.Name)]
[Trait("Issue", "6")]
public sealed class SameAnswersTests(DistributedDeployment cluster, EmbeddedTwin embedded)
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

    public static TheoryData<string> DeviceCases => new()
    {
        "wrong-token", "no-token", "another-devices-token", "malformed-json", "wrong-lead-count", "absurd-rate", "oversized-body",
        "unsupported-media-type", "replayed-sequence", "duplicate",
    };

    [Theory]
    [MemberData(nameof(DeviceCases))]
    public async Task Bad_device_input_gets_the_same_answer_through_the_gateway_as_from_the_one_process_twin(string badCase)
    {
        var expected = await DeviceAnswerAsync(embedded.Admin, embedded.BaseUrl, badCase);
        var actual = await DeviceAnswerAsync(cluster.Admin, cluster.GatewayUrl, badCase);
        actual.ShouldBe(expected);
    }

    public static TheoryData<string> ApiCases => new()
    {
        "no-token", "wrong-token", "register-bad-id", "register-twice", "unknown-device", "ecg-without-range", "malformed-register",
    };

    [Theory]
    [MemberData(nameof(ApiCases))]
    public async Task Bad_API_calls_and_wrong_credentials_get_the_same_answer_through_the_gateway(string badCase)
    {
        var expected = await ApiAnswerAsync(embedded.Admin, embedded.BaseUrl, badCase);
        var actual = await ApiAnswerAsync(cluster.Admin, cluster.GatewayUrl, badCase);
        actual.ShouldBe(expected);
    }

    [Fact]
    public async Task A_device_with_a_wrong_MQTT_password_is_refused_the_same_way()
    {
        var expected = await MqttConnectAsync(embedded.Admin, embedded.MqttPort, "mqtt-wrong-e");
        var actual = await MqttConnectAsync(cluster.Admin, cluster.DeviceMqttPort, "mqtt-wrong-d");
        actual.ShouldBe(expected);
        actual.ShouldNotBe(MqttClientConnectResultCode.Success.ToString());
    }

    private static async Task<string> MqttConnectAsync(HttpClient admin, int port, string device)
    {
        await TwinApi.RegisterAsync(admin, device, device + "-p");
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(device)
            .WithCredentials(device, "not-the-password").WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build();
        try
        {
            var result = await client.ConnectAsync(options);
            return result.ResultCode.ToString();
        }
        catch (MqttConnectingFailedException ex)
        {
            // MQTTnet 5 names the CONNACK's result code in the message only.
            return Enum.GetValues<MqttClientConnectResultCode>().Where(c => c != MqttClientConnectResultCode.Success)
                .Single(c => ex.Message.Contains(c.ToString(), StringComparison.Ordinal)).ToString();
        }
    }

    /// <summary>Status, content type and problem type of the answer to one bad device request.</summary>
    private static async Task<string> DeviceAnswerAsync(HttpClient admin, string baseUrl, string badCase)
    {
        string device = "bad-" + badCase;
        var creds = await TwinApi.RegisterAsync(admin, device, "bad-p-" + badCase);
        var other = badCase == "another-devices-token" ? await TwinApi.RegisterAsync(admin, device + "-other", "bad-p-other") : null;
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        (await PostAsync(http, device, creds.Token, Batch(1000))).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var response = badCase switch
        {
            "wrong-token" => await PostAsync(http, device, "htd_" + new string('0', 64), Batch(1001)),
            "no-token" => await PostAsync(http, device, null, Batch(1001)),
            "another-devices-token" => await PostAsync(http, device, other!.Token, Batch(1001)),
            "malformed-json" => await PostAsync(http, device, creds.Token, "{\"sequence\": 1001, \"samples\": [[1,2,"),
            "wrong-lead-count" => await PostAsync(http, device, creds.Token, Batch(1001, leadsDeclared: 2, arrays: 1)),
            "absurd-rate" => await PostAsync(http, device, creds.Token, Batch(1001, rate: 1e9)),
            "oversized-body" => await PostAsync(http, device, creds.Token, Batch(1001, samples: 300_000)),
            "unsupported-media-type" => await PostAsync(http, device, creds.Token, Batch(1001), "text/plain"),
            "replayed-sequence" => await PostAsync(http, device, creds.Token, Batch(999)),
            "duplicate" => await PostAsync(http, device, creds.Token, Batch(1000)),
            _ => throw new ArgumentOutOfRangeException(nameof(badCase)),
        };
        return await DescribeAsync(response);
    }

    private static async Task<string> ApiAnswerAsync(HttpClient admin, string baseUrl, string badCase)
    {
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        using var request = badCase switch
        {
            "no-token" => new HttpRequestMessage(HttpMethod.Get, "/api/twins"),
            "wrong-token" => Authorized(new HttpRequestMessage(HttpMethod.Get, "/api/twins"), "not-a-token"),
            "register-bad-id" => Json(HttpMethod.Post, "/api/devices", """{"deviceId":"bad id/with slash","patientId":"p","kind":"ecg"}"""),
            "register-twice" => Json(HttpMethod.Post, "/api/devices", """{"deviceId":"api-twice","patientId":"api-twice-p","kind":"ecg"}"""),
            "unknown-device" => new HttpRequestMessage(HttpMethod.Get, "/api/devices/no-such-device"),
            "ecg-without-range" => new HttpRequestMessage(HttpMethod.Get, "/api/twins/some-patient/ecg"),
            "malformed-register" => Json(HttpMethod.Post, "/api/devices", """{"deviceId": """),
            _ => throw new ArgumentOutOfRangeException(nameof(badCase)),
        };
        if (badCase == "register-twice")
        {
            using var first = await admin.SendAsync(Json(HttpMethod.Post, "/api/devices", """{"deviceId":"api-twice","patientId":"api-twice-p","kind":"ecg"}"""));
        }

        if (request.Headers.Authorization is null && badCase != "no-token")
        {
            request.Headers.Authorization = admin.DefaultRequestHeaders.Authorization;
        }

        using var response = await http.SendAsync(request);
        return await DescribeAsync(response);
    }

    private static HttpRequestMessage Authorized(HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static HttpRequestMessage Json(HttpMethod method, string path, string body) =>
        new(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

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

    /// <summary>What a client can rely on: the status, the media type and, for a problem, its type and code.</summary>
    private static async Task<string> DescribeAsync(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        string media = response.Content.Headers.ContentType?.MediaType ?? "-";
        string type = "-", code = "-", status = "-";
        if (media == "application/problem+json")
        {
            var problem = JsonDocument.Parse(body).RootElement;
            type = problem.TryGetProperty("type", out var t) ? t.GetString() ?? "-" : "-";
            code = problem.TryGetProperty("code", out var c) ? c.GetString() ?? "-" : "-";
        }
        else if (media == "application/json" && body.Contains("\"status\"", StringComparison.Ordinal))
        {
            status = JsonDocument.Parse(body).RootElement.GetProperty("status").GetString() ?? "-";
        }

        return $"{(int)response.StatusCode} {media} type={type} code={code} status={status}";
    }
}
