using HeartTwin.Connector;
using HeartTwin.ServiceHost;

// The Connector alone: device registry, HTTP ingestion and the devices' MQTT broker (Connector:MqttPort), commands back to devices.
// Configuration: appsettings.json beside the binary, then environment variables (Section__Key), then --Section:Key=value.
var builder = ServiceHost.CreateBuilder(args, "connector");
builder.AddConnector();

await using var app = builder.Build();
app.MapServiceEndpoints();
app.MapConnector();
await app.RunAsync();
