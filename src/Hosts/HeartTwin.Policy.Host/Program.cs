using HeartTwin.Policy;
using HeartTwin.ServiceHost;

// The Policy alone: decides every action and share from the descriptor (Policy:Path) and writes the hash-chained audit trail.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "policy");
builder.AddPolicy();

await using var app = builder.Build();
app.MapServiceEndpoints();
app.MapPolicy();
await app.RunAsync();
