namespace HeartTwin.Signals.Edf;

/// <summary>The 256-byte fixed part of an EDF header together with the per-signal headers.</summary>
/// <param name="Version">Version field; always "0" for EDF and EDF+.</param>
/// <param name="PatientId">Local patient identification (EDF+: "code sex birthdate name ..."), trailing spaces removed.</param>
/// <param name="RecordingId">Local recording identification (EDF+: "Startdate dd-MMM-yyyy ..."), trailing spaces removed.</param>
/// <param name="StartTime">Start date and time of the recording (local clock of the recorder, no time zone), to the second.
/// Two-digit years follow the EDF clipping rule: 85–99 mean 1985–1999, 00–84 mean 2000–2084.</param>
/// <param name="HeaderBytes">Number of bytes in the header, 256 × (1 + number of signals).</param>
/// <param name="Reserved">The 44-byte reserved field, trailing spaces removed ("EDF+C", "EDF+D" or empty).</param>
/// <param name="Variant">EDF, EDF+C or EDF+D, from <paramref name="Reserved"/>.</param>
/// <param name="DeclaredDataRecordCount">Number of data records as written in the header; −1 means unknown.</param>
/// <param name="DataRecordCount">Number of data records actually present (derived from the file size when the header says −1).</param>
/// <param name="RecordDurationSeconds">Duration of one data record in seconds (may be fractional, for example 0.1).</param>
/// <param name="Signals">Per-signal headers in file order, including annotation channels.</param>
public sealed record EdfHeader(
    string Version,
    string PatientId,
    string RecordingId,
    DateTime StartTime,
    int HeaderBytes,
    string Reserved,
    EdfVariant Variant,
    int DeclaredDataRecordCount,
    int DataRecordCount,
    double RecordDurationSeconds,
    IReadOnlyList<EdfSignalHeader> Signals)
{
    /// <summary>Number of signals in the file (the header's "ns"), annotation channels included.</summary>
    public int SignalCount => Signals.Count;

    /// <summary>Whether the file is EDF+ (continuous or discontinuous).</summary>
    public bool IsEdfPlus => Variant != EdfVariant.Edf;

    /// <summary>Size of one data record in bytes: 2 bytes per sample of every signal.</summary>
    public long RecordBytes
    {
        get
        {
            long total = 0;
            foreach (EdfSignalHeader s in Signals)
            {
                total += 2L * s.SamplesPerRecord;
            }

            return total;
        }
    }
}
