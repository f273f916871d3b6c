using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Logging;

namespace HeartTwin.Storage.Handlers;

/// <summary>
/// Answers the queries of Contracts/Queries.cs. A bad query (a limit of 0, a range too large for MaxSamplesPerLead)
/// fails with <see cref="ArgumentException"/>, which the asking block turns into a 4xx.
/// </summary>
internal sealed partial class StorageQueryHandlers(ITwinStore store, ILogger<StorageQueryHandlers> logger) :
    IRequestHandler<SamplesQuery, SamplesResult>,
    IRequestHandler<BeatsQuery, BeatsResult>,
    IRequestHandler<WindowsQuery, WindowsResult>,
    IRequestHandler<EventsQuery, EventsResult>,
    IRequestHandler<AuditQuery, AuditResult>,
    IRequestHandler<PatientsQuery, PatientsResult>,
    IRequestHandler<VitalsQuery, VitalsResult>,
    IRequestHandler<ErasePatientRequest, ErasePatientResult>
{
    public Task<SamplesResult> HandleAsync(SamplesQuery request, CancellationToken cancellationToken) => store.QuerySamplesAsync(request, cancellationToken);

    public Task<BeatsResult> HandleAsync(BeatsQuery request, CancellationToken cancellationToken) => store.QueryBeatsAsync(request, cancellationToken);

    public Task<WindowsResult> HandleAsync(WindowsQuery request, CancellationToken cancellationToken) => store.QueryWindowsAsync(request, cancellationToken);

    public Task<EventsResult> HandleAsync(EventsQuery request, CancellationToken cancellationToken) => store.QueryEventsAsync(request, cancellationToken);

    public Task<AuditResult> HandleAsync(AuditQuery request, CancellationToken cancellationToken) => store.QueryAuditAsync(request, cancellationToken);

    public Task<PatientsResult> HandleAsync(PatientsQuery request, CancellationToken cancellationToken) => store.QueryPatientsAsync(request, cancellationToken);

    public Task<VitalsResult> HandleAsync(VitalsQuery request, CancellationToken cancellationToken) => store.QueryVitalsAsync(request, cancellationToken);

    public async Task<ErasePatientResult> HandleAsync(ErasePatientRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.PatientId, nameof(request.PatientId));
        long deleted = await store.ErasePatientAsync(request.PatientId, cancellationToken).ConfigureAwait(false);
        LogErased(request.PatientId, request.RequestedBy, deleted);
        return new ErasePatientResult(deleted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Erased patient {PatientId} at the request of {RequestedBy}: {Rows} rows deleted (audit trail kept)")]
    private partial void LogErased(string patientId, string requestedBy, long rows);
}
