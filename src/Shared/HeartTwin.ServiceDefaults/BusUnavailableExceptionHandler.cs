using HeartTwin.Messaging;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace HeartTwin.ServiceDefaults;

/// <summary>
/// Answers 503 Service Unavailable (problem details, Retry-After) when an endpoint needed another block and could not reach
/// it: no block answers the request in this process or on the bus (<see cref="NoHandlerException"/>), the answer did not
/// come in time (<see cref="TimeoutException"/>), or a subscriber gave up (<see cref="MessageDeliveryException"/>). In the
/// distributed deployment these are a service that is down or starting, not a bug of the caller's or ours, so a 500 would
/// mislead clients and their retry logic.
/// </summary>
internal sealed class BusUnavailableExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        string? detail = exception switch
        {
            NoHandlerException => "A block this request needs is not running (no service answered on the bus). Try again shortly.",
            TimeoutException => "A block this request needs did not answer in time. Try again shortly.",
            MessageDeliveryException => "A block this request needs failed to handle it. Try again shortly.",
            _ => null,
        };
        if (detail is null || httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Service unavailable",
                Type = "https://hearttwin.dev/problems/service-unavailable",
                Detail = detail,
            },
        }).ConfigureAwait(false);
    }
}
