using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HeartTwin.Contracts;

namespace HeartTwin.Policy;

/// <summary>The result of checking an audit trail.</summary>
/// <param name="Valid">Whether every entry checked links to the previous one and hashes to its recorded hash.</param>
/// <param name="EntriesChecked">How many entries were checked.</param>
/// <param name="LastSequence">Sequence of the last entry checked (0 when none).</param>
/// <param name="FirstBrokenSequence">Sequence of the first entry that breaks the chain, or null.</param>
/// <param name="Problem">What is wrong with that entry, or null.</param>
public sealed record AuditVerification(bool Valid, long EntriesChecked, long LastSequence, long? FirstBrokenSequence, string? Problem);

/// <summary>
/// The hash chain of the audit trail. Each entry's hash is SHA-256 over its predecessor's hash and its own canonical
/// fields, so changing, removing or inserting any entry breaks every link after it (tamper evidence).
/// </summary>
/// <remarks>
/// Canonical form: the fields PreviousHash, Sequence (decimal), Time (UTC, "yyyy-MM-ddTHH:mm:ss.fffZ"), Category, Actor,
/// PatientId, Subject, Allowed ("true"/"false"), Rule, Reason and PolicyVersion, in this order, each written as its
/// UTF-8 byte length in decimal, a colon, its UTF-8 bytes and a line feed. The length prefix keeps field boundaries
/// unambiguous whatever the fields contain. Hashes are lower-case hex; the first entry's PreviousHash is 64 zeros.
/// </remarks>
public static class AuditChain
{
    /// <summary>The PreviousHash of the first entry.</summary>
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>Computes an entry's hash from its fields (its own Hash is ignored).</summary>
    public static string ComputeHash(AuditRecorded entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var canonical = new StringBuilder(256);
        Append(canonical, entry.PreviousHash);
        Append(canonical, entry.Sequence.ToString(CultureInfo.InvariantCulture));
        Append(canonical, entry.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        Append(canonical, entry.Category);
        Append(canonical, entry.Actor);
        Append(canonical, entry.PatientId);
        Append(canonical, entry.Subject);
        Append(canonical, entry.Allowed ? "true" : "false");
        Append(canonical, entry.Rule);
        Append(canonical, entry.Reason);
        Append(canonical, entry.PolicyVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    /// <summary>
    /// Checks entries in sequence order: consecutive sequences, each PreviousHash equal to the previous entry's Hash,
    /// each Hash equal to the recomputed one. A trail that starts at sequence 1 must start from <see cref="GenesisHash"/>;
    /// a slice that starts later is checked from its first entry on.
    /// </summary>
    public static AuditVerification Verify(IEnumerable<AuditRecorded> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var verifier = new Verifier();
        foreach (var entry in entries)
        {
            if (!verifier.Add(entry))
            {
                break;
            }
        }

        return verifier.Result;
    }

    /// <summary>Whether a hash is the "empty trail" hash (all zeros).</summary>
    internal static bool IsGenesis(string? hash) => string.IsNullOrEmpty(hash) || hash.All(c => c == '0');

    private static void Append(StringBuilder canonical, string? field)
    {
        field ??= "";
        canonical.Append(Encoding.UTF8.GetByteCount(field).ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
    }

    /// <summary>Checks a trail page by page, so that a long trail need not sit in memory.</summary>
    internal sealed class Verifier
    {
        private AuditRecorded? previous;
        private long checkedCount;
        private long? broken;
        private string? problem;

        public AuditVerification Result =>
            new(broken is null, checkedCount, previous?.Sequence ?? 0, broken, problem);

        /// <summary>Checks the next entry; false once the chain is broken (later entries are not looked at).</summary>
        public bool Add(AuditRecorded entry)
        {
            ArgumentNullException.ThrowIfNull(entry);
            if (broken is not null)
            {
                return false;
            }

            string? fault = null;
            if (previous is null)
            {
                if (entry.Sequence < 1)
                {
                    fault = "the sequence must start at 1 or above";
                }
                else if (entry.Sequence == 1 && !IsGenesis(entry.PreviousHash))
                {
                    fault = "the first entry must link to the all-zero hash";
                }
            }
            else if (entry.Sequence != previous.Sequence + 1)
            {
                fault = string.Create(CultureInfo.InvariantCulture, $"sequence {entry.Sequence} follows {previous.Sequence}: entries are missing or out of order");
            }
            else if (!string.Equals(entry.PreviousHash, previous.Hash, StringComparison.OrdinalIgnoreCase))
            {
                fault = "its previous hash does not match the hash of the entry before it";
            }

            if (fault is null && !string.Equals(ComputeHash(entry), entry.Hash, StringComparison.OrdinalIgnoreCase))
            {
                fault = "its content does not match its hash (the entry was altered)";
            }

            checkedCount++;
            if (fault is not null)
            {
                broken = entry.Sequence;
                problem = string.Create(CultureInfo.InvariantCulture, $"entry {entry.Sequence}: {fault}");
                return false;
            }

            previous = entry;
            return true;
        }
    }
}
