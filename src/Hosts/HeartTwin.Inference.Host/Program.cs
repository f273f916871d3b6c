using HeartTwin.Inference;
using HeartTwin.ServiceHost;

// Inference alone: serves the beat models (ONNX Runtime) to the Agent over the bus; stateless, so replicas only add capacity.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "inference");
builder.AddInferenceBlock();

await using var app = builder.Build();
app.MapServiceEndpoints();
await app.RunAsync();
