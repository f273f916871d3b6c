using System.Globalization;
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
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeartTwin.Policy;

/// <summary>Composition of the Policy block.</summary>
public static class PolicyExtensions
{
    /// <summary>
    /// Adds the Policy block: the descriptor (<c>Policy:Path</c>, reloaded on change), the decision handlers for
    /// <see cref="ActionProposed"/> and <see cref="ShareRequest"/>, and the audit trail. A descriptor that fails to load
    /// stops the host's start with the file, line and reason.
    /// </summary>
    public static IHostApplicationBuilder AddPolicy(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddPolicyServices(builder.Services);
        return builder;
    }

    /// <summary>The registrations behind <see cref="AddPolicy"/>, for hosts and tests that compose a ServiceCollection.</summary>
    public static IServiceCollection AddPolicyServices(this IServiceCollection services)
    {
        services.AddOptions<PolicyOptions>().BindConfiguration(PolicyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PolicyStore(
            sp.GetRequiredService<IOptions<PolicyOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PolicyStore>>(), sp.GetService<IHostEnvironment>()));
        services.TryAddSingleton<PolicyEngine>();
        services.TryAddSingleton<AuditTrail>();
        services.TryAddSingleton<DecisionCache>();
        services.AddMessageHandler<ActionProposed, ActionProposedHandler>();
        services.AddRequestHandler<ShareRequest, ShareDecision, ShareRequestHandler>();
        services.AddHostedService<PolicyReloader>();
        return services;
    }

    /// <summary>
    /// Maps <c>GET /api/policy</c> (any authenticated caller: the descriptor in force and its version),
    /// <c>GET /api/policy/decisions?limit=</c> (admin or system read: the latest audited decisions) and
    /// <c>GET /api/audit/verify</c> (admin: checks the stored hash chain).
    /// </summary>
    public static IEndpointRouteBuilder MapPolicy(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").WithTags("Policy");
        api.MapGet("/policy", GetPolicy).RequireAuthorization(HeartTwinAuthentication.AuthenticatedPolicy)
            .WithSummary("The policy descriptor in force, read-only, with its version.");
        api.MapGet("/policy/decisions", GetDecisionsAsync).RequireAuthorization(HeartTwinAuthentication.AuthenticatedPolicy)
            .WithSummary("The latest audited decisions, newest first (admin or system read).");
        api.MapGet("/audit/verify", VerifyAsync).RequireAuthorization(HeartTwinAuthentication.AdminPolicy)
            .WithSummary("Verifies the stored audit trail's hash chain and names the first broken entry.");
        return app;
    }

    private static Ok<PolicyView> GetPolicy(PolicyStore store)
    {
        var s = store.Current;
        return TypedResults.Ok(new PolicyView(s.Version, Path.GetFileName(s.Path), s.LoadedAt, s.Content, s.Document));
    }

    private static async Task<Results<Ok<DecisionsView>, ProblemHttpResult>> GetDecisionsAsync(
        HttpContext http, IMessageBus bus, int? limit, CancellationToken cancellationToken)
    {
        if (!HeartTwinPrincipal.From(http.User).CanReadAll)
        {
            return Problem(StatusCodes.Status403Forbidden, "Reading decisions needs the admin or system/*.rs scope.");
        }

        int take = limit ?? 50;
        if (take is < 1 or > 1000)
        {
            return Problem(StatusCodes.Status400BadRequest, "limit must be between 1 and 1000.");
        }

        try
        {
            var head = await bus.RequestAsync<AuditQuery, AuditResult>(new AuditQuery(long.MaxValue, 0), cancellationToken);
            long from = Math.Max(1, head.LastSequence - take + 1);
            var page = head.LastSequence == 0 ? head : await bus.RequestAsync<AuditQuery, AuditResult>(new AuditQuery(from, take), cancellationToken);
            return TypedResults.Ok(new DecisionsView(page.LastSequence, [.. page.Entries.OrderByDescending(e => e.Sequence)]));
        }
        catch (NoHandlerException)
        {
            return NoStorage();
        }
    }

    private static async Task<Results<Ok<AuditVerificationView>, ProblemHttpResult>> VerifyAsync(IMessageBus bus, CancellationToken cancellationToken)
    {
        const int PageSize = 1000;
        try
        {
            var verifier = new AuditChain.Verifier();
            long next = 1;
            long stored = 0;
            string storedHash = AuditChain.GenesisHash;
            string? lastHash = null;
            string? problem = null;
            while (true)
            {
                var page = await bus.RequestAsync<AuditQuery, AuditResult>(new AuditQuery(next, PageSize), cancellationToken);
                stored = page.LastSequence;
                storedHash = page.LastHash;
                if (page.Entries.Count == 0)
                {
                    break;
                }

                if (next == 1 && page.Entries[0].Sequence != 1)
                {
                    problem = string.Create(CultureInfo.InvariantCulture, $"entries before {page.Entries[0].Sequence} are missing");
                    break;
                }

                bool intact = true;
                foreach (var entry in page.Entries)
                {
                    intact = verifier.Add(entry);
                    lastHash = entry.Hash;
                    if (!intact)
                    {
                        break;
                    }
                }

                if (!intact || page.Entries[^1].Sequence >= stored)
                {
                    break;
                }

                next = page.Entries[^1].Sequence + 1;
            }

            var result = verifier.Result;
            if (problem is null && result.Valid)
            {
                if (result.LastSequence != stored)
                {
                    problem = string.Create(CultureInfo.InvariantCulture, $"the store reports {stored} entries but the chain ends at {result.LastSequence}");
                }
                else if (stored > 0 && !string.Equals(lastHash, storedHash, StringComparison.OrdinalIgnoreCase))
                {
                    problem = "the store's last hash differs from the last entry's hash";
                }
            }

            return TypedResults.Ok(problem is null
                ? new AuditVerificationView(result.Valid, result.EntriesChecked, stored, result.FirstBrokenSequence, result.Problem)
                : new AuditVerificationView(false, result.EntriesChecked, stored, result.FirstBrokenSequence ?? result.LastSequence + 1, problem));
        }
        catch (NoHandlerException)
        {
            return NoStorage();
        }
    }

    private static ProblemHttpResult NoStorage() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "The audit trail is kept by the Storage block, which does not answer in this host.");

    private static ProblemHttpResult Problem(int status, string detail) => TypedResults.Problem(detail: detail, statusCode: status);

    internal sealed record PolicyView(string Version, string File, DateTimeOffset LoadedAt, string Yaml, PolicyDocument Descriptor);

    internal sealed record DecisionsView(long LastSequence, IReadOnlyList<AuditRecorded> Decisions);

    internal sealed record AuditVerificationView(bool Valid, long EntriesChecked, long StoredEntries, long? FirstBrokenSequence, string? Problem);
}
