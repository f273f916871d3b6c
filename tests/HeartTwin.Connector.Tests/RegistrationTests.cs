using System.Net;
using System.Net.Http.Json;
using System.Text;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Connector.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task Registering_a_device_returns_credentials_and_keeps_only_their_hashes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hearttwin-connector-" + Guid.NewGuid().ToString("N"));
        await using var host = await TestHost.StartAsync(dataDirectory: dir);
        var credentials = await host.RegisterAsync("patch-1", "patient-7");

        credentials.DeviceId.ShouldBe("patch-1");
        credentials.PatientId.ShouldBe("patient-7");
        credentials.MqttUsername.ShouldBe("patch-1");
        credentials.Token.Length.ShouldBeGreaterThanOrEqualTo(64); // 256 random bits, hex
        credentials.MqttPassword.ShouldNotBeNullOrEmpty();
        await Eventually.TrueAsync(() => host.Recorder.Registered.Any(r => r.DeviceId == "patch-1" && r.PatientId == "patient-7" && r.Kind == "ecg-patch"), "DeviceRegistered is published");

        var status = await host.Admin.GetFromJsonAsync<DeviceStatusDto>("/api/devices/patch-1");
        status!.PatientId.ShouldBe("patient-7");
        status.LastSequence.ShouldBeNull();
        (await host.Admin.GetFromJsonAsync<DeviceStatusDto[]>("/api/devices"))!.Select(d => d.DeviceId).ShouldBe(["patch-1"]);

        // The database holds neither secret in clear text.
        await host.DisposeAsync();
        var bytes = string.Join("", Directory.GetFiles(dir).Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f))));
        Directory.Delete(dir, true);
        bytes.ShouldContain("patient-7");
        bytes.ShouldNotContain(credentials.Token);
        bytes.ShouldNotContain(credentials.MqttPassword);
    }

    [Fact]
    public async Task Registering_an_existing_device_is_a_conflict_unless_rotating_which_revokes_the_old_token()
    {
        await using var host = await TestHost.StartAsync();
        var first = await host.RegisterAsync("patch-1");

        var again = await host.Admin.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = "patch-1", PatientId = "patient-1" });
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await again.Content.ReadAsStringAsync()).ShouldContain("device-exists");

        var rebind = await host.Admin.PostAsJsonAsync("/api/devices?rotate=true", new RegisterDeviceDto { DeviceId = "patch-1", PatientId = "patient-2" });
        rebind.StatusCode.ShouldBe(HttpStatusCode.Conflict);

        var rotated = await host.Admin.PostAsJsonAsync("/api/devices?rotate=true", new RegisterDeviceDto { DeviceId = "patch-1", PatientId = "patient-1" });
        rotated.StatusCode.ShouldBe(HttpStatusCode.Created);
        var second = (await rotated.Content.ReadFromJsonAsync<DeviceCredentialsDto>())!;
        second.Token.ShouldNotBe(first.Token);

        using var old = host.DeviceClient(first.Token);
        (await old.PostAsync("/api/devices/patch-1/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var current = host.DeviceClient(second.Token);
        (await current.PostAsync("/api/devices/patch-1/samples", Batches.Json(1))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-admin")]
    public async Task Only_the_admin_registers_and_lists_devices(string? token)
    {
        await using var host = await TestHost.StartAsync();
        using var client = token is null ? new HttpClient { BaseAddress = host.Http.BaseAddress } : host.DeviceClient(token);
        (await client.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = "d", PatientId = "p" })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/api/devices")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("", "patient-1")]
    [InlineData("bad id", "patient-1")]
    [InlineData("patch-1", "")]
    [InlineData("patch-1", "p/../../etc")]
    public async Task Registration_rejects_malformed_ids(string deviceId, string patientId)
    {
        await using var host = await TestHost.StartAsync();
        var response = await host.Admin.PostAsJsonAsync("/api/devices", new RegisterDeviceDto { DeviceId = deviceId, PatientId = patientId });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task Unknown_device_status_is_404()
    {
        await using var host = await TestHost.StartAsync();
        (await host.Admin.GetAsync("/api/devices/nope")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_registry_and_the_last_sequence_survive_a_restart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hearttwin-connector-" + Guid.NewGuid().ToString("N"));
        try
        {
            DeviceCredentialsDto credentials;
            await using (var host = await TestHost.StartAsync(dataDirectory: dir))
            {
                credentials = await host.RegisterAsync("patch-1");
                using var device = host.DeviceClient(credentials.Token);
                (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(41))).StatusCode.ShouldBe(HttpStatusCode.OK);
            }

            await using (var host = await TestHost.StartAsync(dataDirectory: dir))
            {
                using var device = host.DeviceClient(credentials.Token);
                var again = await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(41));
                (await again.Content.ReadFromJsonAsync<IngestResultDto>())!.Status.ShouldBe("duplicate");
                (await device.PostAsync("/api/devices/patch-1/samples", Batches.Json(40))).StatusCode.ShouldBe(HttpStatusCode.Conflict);
                host.Recorder.SampleDeliveries.ShouldBe(0);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
