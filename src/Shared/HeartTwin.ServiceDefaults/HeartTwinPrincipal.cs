using System.Security.Claims;

namespace HeartTwin.ServiceDefaults;

/// <summary>What an authenticated caller may do, read from its claims once.</summary>
public sealed class HeartTwinPrincipal
{
    private readonly HashSet<string> scopes;
    private readonly HashSet<string> patients;

    private HeartTwinPrincipal(string subject, HashSet<string> scopes, HashSet<string> patients)
    {
        Subject = subject;
        this.scopes = scopes;
        this.patients = patients;
    }

    /// <summary>The caller's id (token subject).</summary>
    public string Subject { get; }

    /// <summary>The caller's scopes.</summary>
    public IReadOnlyCollection<string> Scopes => scopes;

    /// <summary>Patients named in the token (for patient-level scopes).</summary>
    public IReadOnlyCollection<string> Patients => patients;

    /// <summary>Whether the caller is the administrator.</summary>
    public bool IsAdmin => scopes.Contains(ServiceDefaults.Scopes.Admin);

    /// <summary>Whether the caller may read every patient.</summary>
    public bool CanReadAll => IsAdmin || scopes.Contains(ServiceDefaults.Scopes.SystemRead);

    /// <summary>Whether the caller may read this patient's data (before the policy's consent rules, which Sharing also applies).</summary>
    public bool CanRead(string patientId) =>
        CanReadAll || (scopes.Contains(ServiceDefaults.Scopes.PatientRead) && patients.Contains(patientId));

    /// <summary>Whether the caller may act on this patient (send commands, subscribe).</summary>
    public bool CanWrite(string patientId) =>
        IsAdmin || scopes.Contains(ServiceDefaults.Scopes.SystemWrite) || (scopes.Contains(ServiceDefaults.Scopes.PatientWrite) && patients.Contains(patientId));

    /// <summary>Reads the principal from an authenticated user; an anonymous user has no scopes.</summary>
    public static HeartTwinPrincipal From(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        string subject = user.FindFirst("sub")?.Value ?? user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? "anonymous";
        var scopes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in user.FindAll("scope"))
        {
            foreach (var s in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                scopes.Add(s);
            }
        }

        var patients = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in user.FindAll("patient"))
        {
            foreach (var p in claim.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                patients.Add(p);
            }
        }

        return new HeartTwinPrincipal(subject, scopes, patients);
    }
}
