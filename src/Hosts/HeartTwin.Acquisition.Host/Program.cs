using HeartTwin.Acquisition;
using HeartTwin.ServiceHost;

// Acquisition alone: filters, detects beats and cuts windows per device stream; replicas split the patients by partition.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "acquisition");
builder.AddAcquisition();

await using var app = builder.Build();
app.MapServiceEndpoints();
await app.RunAsync();
