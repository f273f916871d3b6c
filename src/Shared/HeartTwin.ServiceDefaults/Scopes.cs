namespace HeartTwin.ServiceDefaults;

/// <summary>The scopes HeartTwin understands (SMART on FHIR style).</summary>
public static class Scopes
{
    /// <summary>Everything, including registering devices, issuing tokens, and erasing data.</summary>
    public const string Admin = "admin";
    /// <summary>Read and search every patient's data.</summary>
    public const string SystemRead = "system/*.rs";
    /// <summary>Create, update and delete on every patient (commands, subscriptions).</summary>
    public const string SystemWrite = "system/*.cud";
    /// <summary>Read and search the data of the patients named in the token's <c>patient</c> claim.</summary>
    public const string PatientRead = "patient/*.rs";
    /// <summary>Create, update and delete for the patients named in the token's <c>patient</c> claim.</summary>
    public const string PatientWrite = "patient/*.cud";

    /// <summary>Every scope a token may be issued with.</summary>
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal) { Admin, SystemRead, SystemWrite, PatientRead, PatientWrite };
}
