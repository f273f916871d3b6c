using System.Security.Cryptography;
using System.Text;

namespace HeartTwin.Agent;

/// <summary>Deterministic action ids: the same finding from redelivered data gets the same id, so no duplicate action.</summary>
internal static class ProposalIds
{
    /// <summary>A GUID ("N" format) from SHA-256 of the patient, event type, device and the finding's key.</summary>
    public static string For(string patientId, string eventType, string? deviceId, string key)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Join('\u001f', patientId, eventType, deviceId ?? "", key));
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes, hash);
        return new Guid(hash[..16]).ToString("N");
    }
}
