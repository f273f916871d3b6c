using HeartTwin.Sharing;
using HeartTwin.ServiceHost;

// Sharing alone: the REST API, the live stream (SSE), FHIR R4 and webhooks, each screened by the policy.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "sharing");
builder.AddSharing();

await using var app = builder.Build();
app.MapServiceEndpoints();
app.MapSharing();
await app.RunAsync();
