namespace HeartTwin.Contracts;

// Requests the Storage block answers (request/response over the bus). Time ranges are UTC, From inclusive, To exclusive.

/// <summary>A contiguous run of stored samples from one device batch (or a slice of one).</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="Sequence">The batch sequence the samples were sent in.</param>
/// <param name="StartTime">UTC time of the first sample.</param>
/// <param name="SampleRateHz">Samples per second per lead.</param>
/// <param name="Leads">The leads, in the order of <paramref name="Samples"/>.</param>
/// <param name="Samples">Integer ADC values per lead, exactly as received.</param>
public sealed record SampleSegment(string DeviceId, long Sequence, DateTimeOffset StartTime, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][] Samples);

/// <summary>Samples of a patient in a time range; only the named lead when <paramref name="Lead"/> is set.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start (inclusive).</param>
/// <param name="To">Range end (exclusive).</param>
/// <param name="Lead">Lead name to keep, or null for all.</param>
/// <param name="MaxSamplesPerLead">Refuse (with an error result) when the range holds more than this many samples per lead.</param>
public sealed record SamplesQuery(string PatientId, DateTimeOffset From, DateTimeOffset To, string? Lead = null, int MaxSamplesPerLead = 3_600_000);

/// <summary>Answer to <see cref="SamplesQuery"/>: segments in time order, trimmed to the range.</summary>
/// <param name="Segments">The segments.</param>
public sealed record SamplesResult(IReadOnlyList<SampleSegment> Segments);

/// <summary>A stored beat with its class once the Agent classified it.</summary>
/// <param name="DeviceId">The device stream.</param>
/// <param name="Time">UTC time of the R peak.</param>
/// <param name="RrMs">RR interval before the beat, ms (0 if unknown).</param>
/// <param name="Class">AAMI class, or null while unclassified.</param>
/// <param name="Confidence">Probability of the class, or null.</param>
/// <param name="ModelId">Model that classified it, name@version, or null.</param>
public sealed record StoredBeat(string DeviceId, DateTimeOffset Time, double RrMs, string? Class, double? Confidence, string? ModelId);

/// <summary>Beats of a patient in a time range.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Limit">At most this many (the earliest).</param>
public sealed record BeatsQuery(string PatientId, DateTimeOffset From, DateTimeOffset To, int Limit = 100_000);

/// <summary>Answer to <see cref="BeatsQuery"/>, in time order.</summary>
/// <param name="Beats">The beats.</param>
public sealed record BeatsResult(IReadOnlyList<StoredBeat> Beats);

/// <summary>Windows of a patient whose start lies in a time range.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Limit">At most this many (the latest when <paramref name="Latest"/>, else the earliest).</param>
/// <param name="Latest">Return the latest windows in the range rather than the earliest.</param>
public sealed record WindowsQuery(string PatientId, DateTimeOffset From, DateTimeOffset To, int Limit = 1000, bool Latest = false);

/// <summary>Answer to <see cref="WindowsQuery"/>, in time order.</summary>
/// <param name="Windows">The windows.</param>
public sealed record WindowsResult(IReadOnlyList<WindowAcquired> Windows);

/// <summary>Events (the Agent's proposals, with their decisions once made) of a patient in a time range (by <c>OccurredAt</c>).</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Limit">At most this many (the latest).</param>
public sealed record EventsQuery(string PatientId, DateTimeOffset From, DateTimeOffset To, int Limit = 1000);

/// <summary>A stored event or action: the proposal, the policy's decision once made, and the latest command status if a command was sent.</summary>
/// <param name="Proposal">The proposal.</param>
/// <param name="Decision">The decision, or null while undecided.</param>
/// <param name="CommandStatus">The command's latest status, or null.</param>
public sealed record StoredAction(ActionProposed Proposal, ActionDecided? Decision, CommandStatusChanged? CommandStatus);

/// <summary>Answer to <see cref="EventsQuery"/>, in time order.</summary>
/// <param name="Actions">The events with their decisions.</param>
public sealed record EventsResult(IReadOnlyList<StoredAction> Actions);

/// <summary>Audit entries from a sequence number on, optionally of one patient.</summary>
/// <param name="FromSequence">First sequence to return.</param>
/// <param name="Limit">At most this many.</param>
/// <param name="PatientId">Only this patient's entries, or null for all.</param>
public sealed record AuditQuery(long FromSequence = 1, int Limit = 1000, string? PatientId = null);

/// <summary>Answer to <see cref="AuditQuery"/>, in sequence order; <paramref name="LastSequence"/> is the trail's last entry overall (0 when empty).</summary>
/// <param name="Entries">The entries.</param>
/// <param name="LastSequence">The trail's last sequence.</param>
/// <param name="LastHash">The trail's last hash (all zeros when empty).</param>
public sealed record AuditResult(IReadOnlyList<AuditRecorded> Entries, long LastSequence, string LastHash);

/// <summary>A patient known to the twin, with its devices.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="Devices">Device ids bound to the patient.</param>
/// <param name="State">The latest twin state, or null before the first analysis.</param>
public sealed record PatientSummary(string PatientId, IReadOnlyList<string> Devices, TwinState? State);

/// <summary>Every patient, or the listed ones.</summary>
/// <param name="PatientIds">Patients to return, or null for all.</param>
public sealed record PatientsQuery(IReadOnlyList<string>? PatientIds = null);

/// <summary>Answer to <see cref="PatientsQuery"/>, ordered by patient id.</summary>
/// <param name="Patients">The patients.</param>
public sealed record PatientsResult(IReadOnlyList<PatientSummary> Patients);

/// <summary>Vital-sign observations of a patient in a time range.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Limit">At most this many (the latest).</param>
public sealed record VitalsQuery(string PatientId, DateTimeOffset From, DateTimeOffset To, int Limit = 10_000);

/// <summary>Answer to <see cref="VitalsQuery"/>, in time order.</summary>
/// <param name="Observations">The observations with their device.</param>
public sealed record VitalsResult(IReadOnlyList<(string DeviceId, VitalObservation Observation)> Observations);

/// <summary>Erase everything stored about a patient (GDPR). The audit trail keeps its entries, which hold no clinical data.</summary>
/// <param name="PatientId">The patient.</param>
/// <param name="RequestedBy">Who asked.</param>
public sealed record ErasePatientRequest(string PatientId, string RequestedBy);

/// <summary>Answer to <see cref="ErasePatientRequest"/>.</summary>
/// <param name="RowsDeleted">Rows removed across tables.</param>
public sealed record ErasePatientResult(long RowsDeleted);
