using System.Collections.Concurrent;

namespace HeartTwin.Agent;

/// <summary>Every patient twin in memory, and the signals between the bus handlers and the scheduler.</summary>
internal sealed class TwinRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, PatientTwin> _twins = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>Completes once the state was rebuilt from Storage: handlers wait for it, so that no beat is folded twice.</summary>
    public Task Ready => _ready.Task;

    public ICollection<PatientTwin> Twins => _twins.Values;

    public PatientTwin Get(string patientId) => _twins.GetOrAdd(patientId, static id => new PatientTwin(id));

    public bool TryGet(string patientId, out PatientTwin? twin) => _twins.TryGetValue(patientId, out twin);

    public void MarkReady() => _ready.TrySetResult();

    /// <summary>Asks the scheduler to run now rather than at its next tick.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: one run serves every request made before it.
        }
    }

    public Task WaitForWakeAsync(CancellationToken cancellationToken) => _wake.WaitAsync(cancellationToken);

    public void Dispose() => _wake.Dispose();
}
