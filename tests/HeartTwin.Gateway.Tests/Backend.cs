using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Gateway.Tests;

/// <summary>
/// A small real HTTP server on loopback standing in for one service: it answers every request with
/// "&lt;name&gt; &lt;METHOD&gt; &lt;path+query&gt; auth=&lt;Authorization&gt;", and, on <c>/api/twins/{id}/stream</c>, an SSE stream whose
/// second event is written only when the test releases it.
/// </summary>
internal sealed class Backend : IAsyncDisposable
{
    private readonly WebApplication app;

    private Backend(string name, WebApplication app)
    {
        Name = name;
        this.app = app;
    }

    public string Name { get; }

    public string Url => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>Completed by the test to let the stream write its second event.</summary>
    public TaskCompletionSource ReleaseSecondEvent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<Backend> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var backend = new Backend(name, app);
        app.MapGet("/health/live", () => "ok");
        app.MapGet("/api/twins/{patientId}/stream", backend.StreamAsync);
        app.Map("/{**path}", (HttpContext c) =>
            $"{name} {c.Request.Method} {c.Request.Path}{c.Request.QueryString} auth={c.Request.Headers.Authorization}");
        await app.StartAsync();
        return backend;
    }

    private async Task StreamAsync(HttpContext context, string patientId)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.WriteAsync($"event: state\ndata: {{\"patient\":\"{patientId}\",\"n\":1}}\n\n", Encoding.UTF8);
        await context.Response.Body.FlushAsync();
        await ReleaseSecondEvent.Task.WaitAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
        await context.Response.WriteAsync($"event: state\ndata: {{\"patient\":\"{patientId}\",\"n\":2}}\n\n", Encoding.UTF8);
    }

    /// <summary>A loopback port that nothing listens on (bound, then released).</summary>
    public static int UnusedPort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        int port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return port;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
