using HeartTwin.Actuation;
using HeartTwin.ServiceHost;

// Actuation alone: turns allowed actions into device commands, tracks them to their acknowledgement, and serves /api/commands.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "actuation");
builder.AddActuation();

await using var app = builder.Build();
app.MapServiceEndpoints();
app.MapActuation();
await app.RunAsync();
