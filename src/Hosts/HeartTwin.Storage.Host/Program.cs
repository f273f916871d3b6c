using HeartTwin.Storage;
using HeartTwin.ServiceHost;

// Storage alone: chunked compressed samples, beats, events and the audit trail; answers queries over the bus (no endpoints).
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "storage");
builder.AddStorage();

await using var app = builder.Build();
app.MapServiceEndpoints();
await app.RunAsync();
