using HeartTwin.Agent;
using HeartTwin.ServiceHost;

// The Agent alone: folds beats into each patient's twin state and proposes actions; replicas split the patients by partition.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "agent");
builder.AddAgent();

await using var app = builder.Build();
app.MapServiceEndpoints();
await app.RunAsync();
