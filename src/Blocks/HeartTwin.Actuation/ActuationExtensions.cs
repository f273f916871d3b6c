using System.Globalization;
using System.Text.Json;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeartTwin.Actuation;

/// <summary>A person's request for a device command (<c>POST /api/twins/{patientId}/commands</c>).</summary>
/// <param name="DeviceId">The target device, bound to the patient.</param>
/// <param name="Command">One of <see cref="DeviceCommands"/>.</param>
/// <param name="Parameters">Named parameters, JSON numbers, strings or booleans.</param>
/// <param name="Reason">Why, for the audit trail (optional).</param>
public sealed record CommandRequest(string? DeviceId, string? Command, Dictionary<string, JsonElement>? Parameters, string? Reason);

/// <summary>The answer to a <see cref="CommandRequest"/>: the action to follow, and the decision if it came in time.</summary>
/// <param name="ActionId">The action proposed for the policy.</param>
/// <param name="CommandId">The command's id, which exists once the policy allows it.</param>
/// <param name="Decided">Whether the policy decided within the wait.</param>
/// <param name="Allowed">The decision, or null when not yet made.</param>
/// <param name="Rule">The rule that decided, or null.</param>
/// <param name="Reason">Why, or null.</param>
/// <param name="Status">The command's status, when it was sent.</param>
public sealed record CommandRequestAccepted(string ActionId, string CommandId, bool Decided, bool? Allowed, string? Rule, string? Reason, CommandStatusChanged? Status);

/// <summary>Composition of the Actuation block.</summary>
public static class ActuationExtensions
{
    /// <summary>
    /// Adds the Actuation block: it handles <see cref="ActionDecided"/> (allowed, with a command: publishes
    /// <see cref="ActuateDevice"/>) and <see cref="CommandAcknowledged"/>, resends on time-out, and publishes every
    /// <see cref="CommandStatusChanged"/>.
    /// </summary>
    public static IHostApplicationBuilder AddActuation(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddActuationServices(builder.Services);
        return builder;
    }

    /// <summary>The registrations behind <see cref="AddActuation"/>, for hosts and tests that compose a ServiceCollection.</summary>
    public static IServiceCollection AddActuationServices(this IServiceCollection services)
    {
        services.AddOptions<ActuationOptions>().BindConfiguration(ActuationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMessageHandler<ActionDecided, CommandTracker>();
        services.AddMessageHandler<CommandAcknowledged, CommandTracker>();
        services.AddHostedService<ActuationTimer>();
        return services;
    }

    /// <summary>
    /// Maps <c>GET /api/commands/{commandId}</c>, <c>GET /api/twins/{patientId}/commands</c> (read scope for the patient)
    /// and <c>POST /api/twins/{patientId}/commands</c> (write scope: proposes the command; the policy decides).
    /// </summary>
    public static IEndpointRouteBuilder MapActuation(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").WithTags("Actuation").RequireAuthorization(HeartTwinAuthentication.AuthenticatedPolicy);
        api.MapGet("/commands/{commandId}", GetCommand).WithSummary("A command's latest status.");
        api.MapGet("/twins/{patientId}/commands", ListCommands).WithSummary("A patient's commands, newest first.");
        api.MapPost("/twins/{patientId}/commands", RequestCommandAsync)
            .WithSummary("Asks for a device command; the policy decides, and the answer carries the decision if it came within a short wait.");
        return app;
    }

    private static Results<Ok<CommandStatusChanged>, ProblemHttpResult> GetCommand(string commandId, HttpContext http, CommandTracker tracker)
    {
        var status = tracker.Get(commandId);
        if (status is null)
        {
            return Problem(StatusCodes.Status404NotFound, $"No command {commandId} is known (commands are kept for a day after they finish).");
        }

        return HeartTwinPrincipal.From(http.User).CanRead(status.PatientId)
            ? TypedResults.Ok(status)
            : Problem(StatusCodes.Status403Forbidden, $"Your token does not allow reading patient {status.PatientId}.");
    }

    private static Results<Ok<IReadOnlyList<CommandStatusChanged>>, ProblemHttpResult> ListCommands(string patientId, HttpContext http, CommandTracker tracker) =>
        HeartTwinPrincipal.From(http.User).CanRead(patientId)
            ? TypedResults.Ok(tracker.ForPatient(patientId))
            : Problem(StatusCodes.Status403Forbidden, $"Your token does not allow reading patient {patientId}.");

    private static async Task<Results<Accepted<CommandRequestAccepted>, ProblemHttpResult>> RequestCommandAsync(
        string patientId, CommandRequest? request, HttpContext http, CommandTracker tracker, IMessageBus bus, TimeProvider time,
        IOptions<ActuationOptions> options, CancellationToken cancellationToken)
    {
        var principal = HeartTwinPrincipal.From(http.User);
        if (!principal.CanWrite(patientId))
        {
            return Problem(StatusCodes.Status403Forbidden, $"Asking for a command needs a write scope for patient {patientId} (patient/*.cud or system/*.cud).");
        }

        if (request is null || string.IsNullOrWhiteSpace(request.Command) || string.IsNullOrWhiteSpace(request.DeviceId))
        {
            return Problem(StatusCodes.Status400BadRequest, "The body needs 'deviceId' and 'command' (one of raise-alarm, set-sample-rate, capture-12-lead, adjust-pacing).");
        }

        if (request.Reason is { Length: > 500 } || request.Command.Length > 64 || request.DeviceId.Length > 128)
        {
            return Problem(StatusCodes.Status400BadRequest, "'reason' is limited to 500 characters, 'command' to 64 and 'deviceId' to 128.");
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in request.Parameters ?? [])
        {
            string? text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (text is null || name.Length > 64 || text.Length > 1000)
            {
                return Problem(StatusCodes.Status400BadRequest, $"Parameter '{name}' must be a number, a string or a boolean (names up to 64, values up to 1000 characters).");
            }

            parameters[name] = text;
        }

        var now = time.GetUtcNow();
        string actionId = Guid.NewGuid().ToString("N");
        var proposal = new ActionProposed(actionId, patientId, request.DeviceId, EventTypes.ManualRequest, "info",
            string.IsNullOrWhiteSpace(request.Reason) ? $"Requested by {principal.Subject}" : request.Reason,
            now, now, now, principal.Subject, new DeviceCommand(request.Command, parameters), new Dictionary<string, string>());

        var decision = tracker.WaitForDecision(actionId);
        try
        {
            await bus.PublishAsync(proposal, cancellationToken);
            await decision.WaitAsync(TimeSpan.FromMilliseconds(options.Value.DecisionWaitMs), time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Not decided yet: the caller follows the action by its id.
        }
        catch (MessageDeliveryException ex)
        {
            tracker.StopWaiting(actionId);
            return Problem(StatusCodes.Status503ServiceUnavailable, $"The request could not be handed to the policy: {ex.Message}");
        }
        finally
        {
            tracker.StopWaiting(actionId);
        }

        string commandId = CommandTracker.CommandIdFor(actionId);
        var decided = decision.IsCompletedSuccessfully ? decision.Result : null;
        var body = new CommandRequestAccepted(actionId, commandId, decided is not null, decided?.Allowed, decided?.Rule, decided?.Reason, tracker.Get(commandId));
        return TypedResults.Accepted(string.Create(CultureInfo.InvariantCulture, $"/api/commands/{commandId}"), body);
    }

    private static ProblemHttpResult Problem(int status, string detail) => TypedResults.Problem(detail: detail, statusCode: status);
}
