using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Storage.Handlers;
using HeartTwin.Storage.Postgres;
using HeartTwin.Storage.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeartTwin.Storage;

/// <summary>Composition of the Storage block.</summary>
public static class StorageHostingExtensions
{
    /// <summary>
    /// Adds the Storage block: options from the <c>Storage</c> section, the store that <c>Storage:Provider</c> names (SQLite in
    /// <c>Storage:DataDirectory</c>, the default; or PostgreSQL at <c>Storage:ConnectionString</c> or <c>ConnectionStrings:Storage</c>),
    /// handlers for every message it keeps and every query of Contracts/Queries.cs, retention, and
    /// <see cref="StorageStats"/>. It has no endpoints: the Sharing block serves the data. The host calls
    /// <c>AddMessaging()</c> first.
    /// </summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageServices();
        return builder;
    }

    /// <summary>The registrations of <see cref="AddStorage"/>, on a bare service collection (tests, tools).</summary>
    public static IServiceCollection AddStorageServices(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .Configure<IConfiguration>((o, configuration) =>
            {
                // The conventional place for a connection string (Kubernetes sets ConnectionStrings__Storage from a Secret).
                if (string.IsNullOrWhiteSpace(o.ConnectionString))
                {
                    o.ConnectionString = configuration.GetConnectionString("Storage");
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageStats>();
        // One store, of the configured provider; only that one is ever constructed (it opens and migrates its database).
        services.TryAddSingleton<ITwinStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageOptions.PostgresProvider
            ? ActivatorUtilities.CreateInstance<PostgresStore>(sp)
            : ActivatorUtilities.CreateInstance<SqliteStore>(sp));
        services.TryAddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        services.AddHostedService<StorageStatsReporter>();

        // Rows keyed by (device, sequence) and written "insert or ignore" mean the same whatever order they arrive in, so
        // their subscriptions are unordered: many writers at once fill one group commit, instead of each patient
        // partition waiting for a commit per batch. Beats (upserted) and state rows keep per-patient order.
        var keyedInserts = new SubscriptionDelivery { Ordered = false, MaxConcurrency = 256 };
        services.AddMessageHandler<DeviceRegistered, StorageMessageHandlers>();
        services.AddMessageHandler<SamplesReceived, StorageMessageHandlers>(keyedInserts);
        services.AddMessageHandler<BeatsAcquired, StorageMessageHandlers>();
        services.AddMessageHandler<AnalysisCompleted, StorageMessageHandlers>();
        services.AddMessageHandler<WindowAcquired, StorageMessageHandlers>(keyedInserts);
        services.AddMessageHandler<VitalsReceived, StorageMessageHandlers>(keyedInserts);
        services.AddMessageHandler<SequenceGapDetected, StorageMessageHandlers>(keyedInserts);
        services.AddMessageHandler<ActionProposed, StorageMessageHandlers>();
        services.AddMessageHandler<ActionDecided, StorageMessageHandlers>();
        services.AddMessageHandler<CommandStatusChanged, StorageMessageHandlers>();
        services.AddMessageHandler<AuditRecorded, StorageMessageHandlers>();

        services.AddRequestHandler<SamplesQuery, SamplesResult, StorageQueryHandlers>();
        services.AddRequestHandler<BeatsQuery, BeatsResult, StorageQueryHandlers>();
        services.AddRequestHandler<WindowsQuery, WindowsResult, StorageQueryHandlers>();
        services.AddRequestHandler<EventsQuery, EventsResult, StorageQueryHandlers>();
        services.AddRequestHandler<AuditQuery, AuditResult, StorageQueryHandlers>();
        services.AddRequestHandler<PatientsQuery, PatientsResult, StorageQueryHandlers>();
        services.AddRequestHandler<VitalsQuery, VitalsResult, StorageQueryHandlers>();
        services.AddRequestHandler<ErasePatientRequest, ErasePatientResult, StorageQueryHandlers>();
        return services;
    }
}
