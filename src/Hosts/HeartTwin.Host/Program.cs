using HeartTwin.Host;

await using var app = TwinApp.Build(args);
await app.RunAsync();
