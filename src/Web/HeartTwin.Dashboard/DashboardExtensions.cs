using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace HeartTwin.Dashboard;

/// <summary>Serves the clinician's dashboard (a static single-page app that talks to <c>/api</c>).</summary>
public static class DashboardExtensions
{
    // The page loads only its own scripts and talks only to its own origin. Inline styles are allowed because the chart
    // library and the views size elements through style attributes.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

    private static readonly Lazy<DashboardAssets> Assets = new(() => new DashboardAssets());

    /// <summary>
    /// Maps the dashboard at <c>/</c> (and <c>/index.html</c>) with its files under <c>/assets/</c>. The files need no
    /// token: the page asks for one and sends it to the API, which decides what it may see.
    /// </summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var group = app.MapGroup("").AllowAnonymous().ExcludeFromDescription();
        group.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], (HttpContext http) => Serve(http, "index.html"));
        group.MapMethods("/index.html", [HttpMethods.Get, HttpMethods.Head], (HttpContext http) => Serve(http, "index.html"));
        group.MapMethods("/assets/{**file}", [HttpMethods.Get, HttpMethods.Head], (string file, HttpContext http) => Serve(http, "assets/" + file));
        return app;
    }

    private static IResult Serve(HttpContext http, string path)
    {
        var assets = Assets.Value;
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (path == "index.html" && !assets.IsBuilt)
        {
            return Results.Content(NotBuiltPage, "text/html; charset=utf-8", Encoding.UTF8, StatusCodes.Status503ServiceUnavailable);
        }

        if (assets.Find(path) is not { } asset)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"The dashboard has no file '{path}'.");
        }

        // Built asset names carry a content hash, so they never change; the page itself is revalidated every time.
        headers.CacheControl = path == "index.html" ? "no-cache" : "public, max-age=31536000, immutable";
        headers.ETag = asset.ETag;
        if (path == "index.html")
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XFrameOptions = "DENY";
        }

        if (http.Request.Headers.IfNoneMatch.Any(v => v is not null && (v.Contains(asset.ETag, StringComparison.Ordinal) || v == "*")))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private const string NotBuiltPage = """
        <!doctype html><html lang="en"><meta charset="utf-8"><title>HeartTwin</title>
        <body style="font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;color:#1d1d1f">
        <h1>The dashboard was not built</h1>
        <p>This twin was built with <code>SkipDashboardBuild=true</code>, or without Node.js. Install Node.js 20+ and npm and build
        the host again; the API under <code>/api</code> works either way.</p></body></html>
        """;
}
