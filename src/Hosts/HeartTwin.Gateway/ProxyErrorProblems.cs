using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace HeartTwin.Gateway;

/// <summary>
/// YARP answers a failed forward with a bare status code. This turns it into a ProblemDetails that says which service
/// could not be reached and why, so clients of the single endpoint get the same kind of error as from the services.
/// </summary>
internal sealed partial class ProxyErrorProblems(RequestDelegate next, ILogger<ProxyErrorProblems> logger)
{
    /// <summary>Seconds a client is asked to wait when no instance of a service is available.</summary>
    public const int RetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var error = context.GetForwarderErrorFeature();
        if (error is null || context.Response.HasStarted || error.Error is ForwarderError.RequestCanceled)
        {
            // Nothing failed, the backend's answer is already on its way, or the client itself went away.
            return;
        }

        string cluster = context.Features.Get<IReverseProxyFeature>()?.Route.Config.ClusterId ?? "unknown";
        var (status, title, detail) = error.Error switch
        {
            ForwarderError.NoAvailableDestinations => (StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                $"No instance of the '{cluster}' service is available; try again shortly."),
            ForwarderError.RequestTimedOut => (StatusCodes.Status504GatewayTimeout, "Gateway timeout",
                $"The '{cluster}' service did not answer in time."),
            ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled => (StatusCodes.Status400BadRequest, "Bad request",
                "The request body could not be read from the client."),
            _ => (StatusCodes.Status502BadGateway, "Bad gateway", $"The '{cluster}' service could not be reached ({error.Error})."),
        };
        LogForwardFailed(logger, context.Request.Method, context.Request.Path, cluster, error.Error, error.Exception);
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await TypedResults.Problem(detail: detail, statusCode: status, title: title,
            extensions: new Dictionary<string, object?> { ["service"] = cluster }).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} could not be forwarded to {Cluster}: {Error}")]
    private static partial void LogForwardFailed(ILogger logger, string method, PathString path, string cluster, ForwarderError error, Exception? exception);
}
