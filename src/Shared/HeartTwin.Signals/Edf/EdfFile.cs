namespace HeartTwin.Signals.Edf;

/// <summary>A decoded EDF or EDF+ recording: header, sampled signals, annotations and data-record onsets.</summary>
public sealed class EdfFile
{
    /// <summary>Creates a recording from decoded parts; <see cref="EdfReader"/> is the usual source.</summary>
    /// <param name="header">Header of the file, including every signal header (annotation channels too).</param>
    /// <param name="signals">Sampled signals in file order, annotation channels excluded.</param>
    /// <param name="annotations">Annotations sorted by onset, time-keeping entries excluded.</param>
    /// <param name="recordOnsetsSeconds">Onset of each data record in seconds from <see cref="EdfHeader.StartTime"/>.</param>
    public EdfFile(EdfHeader header, IReadOnlyList<EdfSignal> signals, IReadOnlyList<EdfAnnotation> annotations, IReadOnlyList<double> recordOnsetsSeconds)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(annotations);
        ArgumentNullException.ThrowIfNull(recordOnsetsSeconds);
        if (recordOnsetsSeconds.Count != header.DataRecordCount)
        {
            throw new ArgumentException($"Expected {header.DataRecordCount} record onsets, got {recordOnsetsSeconds.Count}.", nameof(recordOnsetsSeconds));
        }

        Header = header;
        Signals = signals;
        Annotations = annotations;
        RecordOnsetsSeconds = recordOnsetsSeconds;
    }

    /// <summary>The file header.</summary>
    public EdfHeader Header { get; }

    /// <summary>The sampled signals in file order; "EDF Annotations" channels are not included.</summary>
    public IReadOnlyList<EdfSignal> Signals { get; }

    /// <summary>All annotations of all annotation channels, sorted by onset (stable, so file order breaks ties).</summary>
    public IReadOnlyList<EdfAnnotation> Annotations { get; }

    /// <summary>
    /// Onset of each data record in seconds after <see cref="EdfHeader.StartTime"/>. For EDF and for EDF+
    /// without an annotation channel this is record index × record duration; for EDF+ it is the time-keeping
    /// TAL of each record, which is what places the samples of an EDF+D (discontinuous) file in time.
    /// </summary>
    public IReadOnlyList<double> RecordOnsetsSeconds { get; }

    /// <summary>Total duration of the data in seconds: number of records × record duration (gaps of EDF+D files not counted).</summary>
    public double DurationSeconds => Header.DataRecordCount * Header.RecordDurationSeconds;

    /// <summary>Whether the data records follow each other without gaps (record onsets advance by exactly one record duration, within 1 µs).</summary>
    public bool IsContiguous
    {
        get
        {
            for (int r = 1; r < RecordOnsetsSeconds.Count; r++)
            {
                if (Math.Abs(RecordOnsetsSeconds[r] - RecordOnsetsSeconds[r - 1] - Header.RecordDurationSeconds) > 1e-6)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Finds the first sampled signal whose label equals <paramref name="label"/> (ordinal, case-insensitive).</summary>
    /// <param name="label">Label to look for, for example "ECG".</param>
    /// <returns>The signal, or <see langword="null"/> when there is none.</returns>
    public EdfSignal? FindSignal(string label)
    {
        foreach (EdfSignal s in Signals)
        {
            if (string.Equals(s.Label, label, StringComparison.OrdinalIgnoreCase))
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>
    /// Time of one sample in seconds after <see cref="EdfHeader.StartTime"/>, honouring the record onsets,
    /// so it is correct for discontinuous (EDF+D) files too.
    /// </summary>
    /// <param name="signal">A signal of this file.</param>
    /// <param name="sampleIndex">Index into <see cref="EdfSignal.Digital"/> / <see cref="EdfSignal.Physical"/>.</param>
    /// <returns>Seconds after the start time.</returns>
    public double SampleTimeSeconds(EdfSignal signal, int sampleIndex)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if ((uint)sampleIndex >= (uint)signal.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(sampleIndex), sampleIndex, $"Signal '{signal.Label}' has {signal.Length} samples.");
        }

        int perRecord = signal.Header.SamplesPerRecord;
        int record = sampleIndex / perRecord;
        return RecordOnsetsSeconds[record] + ((sampleIndex - ((long)record * perRecord)) / signal.SampleRateHz);
    }
}
