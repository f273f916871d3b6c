namespace HeartTwin.Contracts;

/// <summary>A message about one patient. The bus keeps per-patient order by partitioning on <see cref="PatientId"/>.</summary>
public interface IPatientMessage
{
    /// <summary>The patient the message concerns (the partition key).</summary>
    string PatientId { get; }
}

/// <summary>
/// A message with a stable identity. Delivery is at least once, so the same message may arrive twice;
/// handlers use <see cref="MessageKey"/> to make their effect happen once.
/// </summary>
public interface IKeyedMessage
{
    /// <summary>Stable identity of the message, for example <c>device-7:1042</c> for a device's sample batch.</summary>
    string MessageKey { get; }
}
