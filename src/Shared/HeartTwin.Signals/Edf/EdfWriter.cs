using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace HeartTwin.Signals.Edf;

/// <summary>
/// Writes EDF and EDF+ files: 16-bit little-endian samples and, for EDF+, an "EDF Annotations" channel holding
/// one time-keeping TAL per data record followed by the annotations whose onsets fall in that record.
/// </summary>
public static class EdfWriter
{
    /// <summary>Writes a file from physical-unit signals.</summary>
    /// <param name="path">Destination path; an existing file is overwritten.</param>
    /// <param name="request">What to write.</param>
    public static void Write(string path, EdfWriteRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(request);
        Plan plan = PlanFor(request);
        Layout layout = Prepare(plan); // every check runs before the file is created
        using FileStream stream = File.Create(path);
        Emit(stream, plan, layout);
    }

    /// <summary>Writes a file from physical-unit signals into a stream.</summary>
    /// <param name="stream">Destination; it is not disposed.</param>
    /// <param name="request">What to write.</param>
    public static void Write(Stream stream, EdfWriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(request);
        Plan plan = PlanFor(request);
        Emit(stream, plan, Prepare(plan));
    }

    /// <summary>Writes a file from physical-unit signals into a new byte array.</summary>
    /// <param name="request">What to write.</param>
    /// <returns>The file's bytes.</returns>
    public static byte[] ToBytes(EdfWriteRequest request)
    {
        using var stream = new MemoryStream();
        Write(stream, request);
        return stream.ToArray();
    }

    /// <summary>
    /// Writes a recording back out with its header fields, raw digital samples, record onsets (so EDF+D stays
    /// discontinuous) and annotations. The annotation channel is rebuilt, so its size may differ from the original.
    /// </summary>
    /// <param name="stream">Destination; it is not disposed.</param>
    /// <param name="file">The recording, typically from <see cref="EdfReader"/>.</param>
    public static void Write(Stream stream, EdfFile file)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(file);
        EdfHeader h = file.Header;
        var signals = new List<(EdfSignalHeader Header, short[] Digital)>(file.Signals.Count);
        foreach (EdfSignal s in file.Signals)
        {
            signals.Add((s.Header, s.Digital));
        }

        bool annotationChannel = h.IsEdfPlus || file.Annotations.Count > 0;
        string reserved = h.Variant switch
        {
            EdfVariant.EdfPlusDiscontinuous => "EDF+D",
            EdfVariant.EdfPlusContinuous => "EDF+C",
            _ when annotationChannel => "EDF+C",
            _ => h.Reserved,
        };
        var plan = new Plan(h.PatientId, h.RecordingId, h.StartTime, reserved, h.RecordDurationSeconds, h.DataRecordCount, signals, annotationChannel, file.Annotations, [.. file.RecordOnsetsSeconds]);
        Emit(stream, plan, Prepare(plan));
    }

    private static Plan PlanFor(EdfWriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.Signals);
        ArgumentNullException.ThrowIfNull(request.Annotations);
        if (request.Signals.Count == 0)
        {
            throw new ArgumentException("At least one signal is required.", nameof(request));
        }

        double duration = request.RecordDurationSeconds;
        if (!(duration > 0) || !double.IsFinite(duration))
        {
            throw new ArgumentException($"Record duration must be a positive number of seconds, got {duration.ToString(CultureInfo.InvariantCulture)}.", nameof(request));
        }

        if (!request.EdfPlus && request.Annotations.Count > 0)
        {
            throw new ArgumentException("Annotations need EDF+; set EdfPlus to true.", nameof(request));
        }

        int records = -1;
        var signals = new List<(EdfSignalHeader, short[])>(request.Signals.Count);
        foreach (EdfWriterSignal s in request.Signals)
        {
            ArgumentNullException.ThrowIfNull(s);
            ArgumentNullException.ThrowIfNull(s.Samples);
            if (s.SamplesPerRecord <= 0)
            {
                throw new ArgumentException($"Signal '{s.Label}': samples per record must be positive, got {s.SamplesPerRecord}.", nameof(request));
            }

            if (s.Samples.Length % s.SamplesPerRecord != 0)
            {
                throw new ArgumentException($"Signal '{s.Label}': {s.Samples.Length} samples are not a whole number of records of {s.SamplesPerRecord} samples.", nameof(request));
            }

            int n = s.Samples.Length / s.SamplesPerRecord;
            if (records >= 0 && n != records)
            {
                throw new ArgumentException($"Signal '{s.Label}' spans {n} records but an earlier signal spans {records}; all signals must cover the same time.", nameof(request));
            }

            records = n;
            if (s.DigitalMinimum < short.MinValue || s.DigitalMaximum > short.MaxValue || s.DigitalMinimum >= s.DigitalMaximum)
            {
                throw new ArgumentException($"Signal '{s.Label}': digital range [{s.DigitalMinimum}, {s.DigitalMaximum}] must be increasing and within [-32768, 32767].", nameof(request));
            }

            if (!double.IsFinite(s.PhysicalMinimum) || !double.IsFinite(s.PhysicalMaximum) || s.PhysicalMinimum == s.PhysicalMaximum)
            {
                throw new ArgumentException($"Signal '{s.Label}': physical minimum and maximum must be finite and different.", nameof(request));
            }

            // Store the limits as the header will hold them (8 characters, rounded outwards), and scale with
            // exactly those values so that a reader reproduces the samples to within one quantisation step.
            bool ascending = s.PhysicalMinimum < s.PhysicalMaximum;
            double pMin = ParseBack(FormatNumber(s.PhysicalMinimum, 8, ascending ? Round.Down : Round.Up, $"physical minimum of '{s.Label}'"));
            double pMax = ParseBack(FormatNumber(s.PhysicalMaximum, 8, ascending ? Round.Up : Round.Down, $"physical maximum of '{s.Label}'"));
            var header = new EdfSignalHeader(s.Label, s.TransducerType, s.PhysicalDimension, pMin, pMax, s.DigitalMinimum, s.DigitalMaximum, s.Prefiltering, s.SamplesPerRecord, "");
            signals.Add((header, ToDigital(s, header)));
        }

        if (request.EdfPlus && request.Annotations.Count > 0 && records == 0)
        {
            throw new ArgumentException("Annotations need at least one data record to live in.", nameof(request));
        }

        DateTime start = request.StartTime;
        string recording = request.RecordingId
            ?? (request.EdfPlus
                ? "Startdate " + start.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant() + " X X X"
                : "");
        var onsets = new double[records];
        for (int r = 0; r < records; r++)
        {
            onsets[r] = r * duration;
        }

        return new Plan(request.PatientId, recording, start, request.EdfPlus ? "EDF+C" : "", duration, records, signals, request.EdfPlus, request.Annotations, onsets);
    }

    private static short[] ToDigital(EdfWriterSignal s, EdfSignalHeader h)
    {
        double gain = h.Gain;
        var digital = new short[s.Samples.Length];
        for (int i = 0; i < digital.Length; i++)
        {
            float p = s.Samples[i];
            if (!float.IsFinite(p))
            {
                throw new ArgumentException($"Signal '{s.Label}': sample {i} is {p.ToString(CultureInfo.InvariantCulture)}; EDF can store only finite values.", nameof(s));
            }

            double d = Math.Round(((p - h.PhysicalMinimum) / gain) + h.DigitalMinimum, MidpointRounding.AwayFromZero);
            digital[i] = (short)Math.Clamp(d, h.DigitalMinimum, h.DigitalMaximum);
        }

        return digital;
    }

    private static Layout Prepare(Plan plan)
    {
        if (plan.Start.Year is < 1985 or > 2084)
        {
            throw new ArgumentException($"EDF start dates must lie in 1985–2084, got {plan.Start.Year}.", nameof(plan));
        }

        // Lay out the annotation channel: per record the time-keeping TAL, then the annotations that start in it.
        var perRecord = new List<EdfAnnotation>[plan.Records];
        int annotationWords = 0;
        if (plan.AnnotationChannel)
        {
            for (int r = 0; r < plan.Records; r++)
            {
                perRecord[r] = [];
            }

            foreach (EdfAnnotation a in plan.Annotations)
            {
                ArgumentNullException.ThrowIfNull(a);
                if (string.IsNullOrEmpty(a.Text) || !EdfTal.IsStorable(a.Text))
                {
                    throw new ArgumentException($"Annotation at {a.OnsetSeconds.ToString(CultureInfo.InvariantCulture)} s: text must be non-empty and free of 0x00, 0x14 and 0x15.", nameof(plan));
                }

                if (!double.IsFinite(a.OnsetSeconds) || a.DurationSeconds is double d && (!(d >= 0) || !double.IsFinite(d)))
                {
                    throw new ArgumentException($"Annotation '{a.Text}': onset must be finite and duration finite and non-negative.", nameof(plan));
                }

                perRecord[RecordFor(plan.Onsets, a.OnsetSeconds)].Add(a);
            }

            int maxBytes = 0;
            for (int r = 0; r < plan.Records; r++)
            {
                int bytes = EdfTal.Measure(plan.Onsets[r], null, "");
                foreach (EdfAnnotation a in perRecord[r])
                {
                    bytes += EdfTal.Measure(a.OnsetSeconds, a.DurationSeconds, a.Text);
                }

                maxBytes = Math.Max(maxBytes, bytes);
            }

            annotationWords = Math.Max(1, (maxBytes + 1) / 2);
        }

        var headers = new List<EdfSignalHeader>();
        foreach ((EdfSignalHeader h, _) in plan.Signals)
        {
            headers.Add(h);
        }

        if (plan.AnnotationChannel)
        {
            // EDFlib and EDFbrowser use these placeholder scaling values for the annotation channel.
            headers.Add(new EdfSignalHeader(EdfSignalHeader.AnnotationLabel, "", "", -1, 1, short.MinValue, short.MaxValue, "", annotationWords, ""));
        }

        return new Layout(BuildHeader(plan, headers), headers, perRecord, annotationWords);
    }

    private static void Emit(Stream stream, Plan plan, Layout layout)
    {
        (byte[] header, List<EdfSignalHeader> headers, List<EdfAnnotation>[] perRecord, int annotationWords) = layout;
        stream.Write(header);

        int recordBytes = 0;
        foreach (EdfSignalHeader h in headers)
        {
            recordBytes += 2 * h.SamplesPerRecord;
        }

        byte[] record = new byte[recordBytes];
        for (int r = 0; r < plan.Records; r++)
        {
            int offset = 0;
            foreach ((EdfSignalHeader h, short[] digital) in plan.Signals)
            {
                ReadOnlySpan<short> chunk = digital.AsSpan(r * h.SamplesPerRecord, h.SamplesPerRecord);
                foreach (short v in chunk)
                {
                    BinaryPrimitives.WriteInt16LittleEndian(record.AsSpan(offset), v);
                    offset += 2;
                }
            }

            if (plan.AnnotationChannel)
            {
                Span<byte> channel = record.AsSpan(offset, 2 * annotationWords);
                channel.Clear();
                int pos = EdfTal.Write(channel, plan.Onsets[r], null, "");
                foreach (EdfAnnotation a in perRecord[r])
                {
                    pos += EdfTal.Write(channel[pos..], a.OnsetSeconds, a.DurationSeconds, a.Text);
                }
            }

            stream.Write(record);
        }
    }

    private static int RecordFor(double[] onsets, double onset)
    {
        // The last record starting at or before the annotation; record 0 for anything earlier.
        int index = Array.BinarySearch(onsets, onset);
        if (index < 0)
        {
            index = ~index - 1;
        }

        return Math.Clamp(index, 0, onsets.Length - 1);
    }

    private static byte[] BuildHeader(Plan plan, List<EdfSignalHeader> signals)
    {
        int ns = signals.Count;
        if (ns > 9999)
        {
            throw new ArgumentException($"EDF allows at most 9999 signals, got {ns}.", nameof(signals));
        }

        var b = new HeaderBuilder(256 * (ns + 1));
        b.Put("0", 8, "version");
        b.Put(plan.PatientId, 80, "patient identification");
        b.Put(plan.RecordingId, 80, "recording identification");
        b.Put(plan.Start.ToString("dd.MM.yy", CultureInfo.InvariantCulture), 8, "start date");
        b.Put(plan.Start.ToString("HH.mm.ss", CultureInfo.InvariantCulture), 8, "start time");
        b.Put((256 * (ns + 1)).ToString(CultureInfo.InvariantCulture), 8, "header bytes");
        b.Put(plan.Reserved, 44, "reserved");
        b.Put(plan.Records.ToString(CultureInfo.InvariantCulture), 8, "number of data records");
        b.Put(FormatNumber(plan.RecordDuration, 8, Round.Exact, "record duration"), 8, "record duration");
        b.Put(ns.ToString(CultureInfo.InvariantCulture), 4, "number of signals");
        foreach (EdfSignalHeader s in signals) { b.Put(s.Label, 16, "label"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.TransducerType, 80, "transducer type"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.PhysicalDimension, 8, "physical dimension"); }
        foreach (EdfSignalHeader s in signals) { b.Put(FormatNumber(s.PhysicalMinimum, 8, Round.Exact, "physical minimum"), 8, "physical minimum"); }
        foreach (EdfSignalHeader s in signals) { b.Put(FormatNumber(s.PhysicalMaximum, 8, Round.Exact, "physical maximum"), 8, "physical maximum"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.DigitalMinimum.ToString(CultureInfo.InvariantCulture), 8, "digital minimum"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.DigitalMaximum.ToString(CultureInfo.InvariantCulture), 8, "digital maximum"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.Prefiltering, 80, "prefiltering"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.SamplesPerRecord.ToString(CultureInfo.InvariantCulture), 8, "samples per record"); }
        foreach (EdfSignalHeader s in signals) { b.Put(s.Reserved, 32, "signal reserved"); }
        return b.Bytes;
    }

    private enum Round
    {
        Exact,
        Down,
        Up,
    }

    /// <summary>Formats a number in at most <paramref name="width"/> characters without an exponent.</summary>
    private static string FormatNumber(double value, int width, Round round, string what)
    {
        if (value == 0)
        {
            return "0";
        }

        string exact = value.ToString("R", CultureInfo.InvariantCulture);
        if (exact.Length <= width && !exact.Contains('E', StringComparison.Ordinal))
        {
            return exact;
        }

        if (round != Round.Exact)
        {
            for (int decimals = width; decimals >= 0; decimals--)
            {
                double scale = Math.Pow(10, decimals);
                double rounded = round == Round.Down ? Math.Floor(value * scale) / scale : Math.Ceiling(value * scale) / scale;
                string s = rounded.ToString("0." + new string('#', Math.Max(decimals, 1)), CultureInfo.InvariantCulture);
                if (s.Length <= width)
                {
                    return s == "-0" ? "0" : s;
                }
            }
        }

        throw new ArgumentException($"The {what} {exact} cannot be written in {width} characters.", nameof(value));
    }

    private static double ParseBack(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    private sealed record Plan(
        string PatientId,
        string RecordingId,
        DateTime Start,
        string Reserved,
        double RecordDuration,
        int Records,
        IReadOnlyList<(EdfSignalHeader Header, short[] Digital)> Signals,
        bool AnnotationChannel,
        IReadOnlyList<EdfAnnotation> Annotations,
        double[] Onsets);

    private sealed record Layout(byte[] Header, List<EdfSignalHeader> Headers, List<EdfAnnotation>[] PerRecord, int AnnotationWords);

    private sealed class HeaderBuilder(int size)
    {
        private int _pos;

        public byte[] Bytes { get; } = new byte[size];

        public void Put(string value, int width, string what)
        {
            ArgumentNullException.ThrowIfNull(value, what);
            if (value.Length > width)
            {
                throw new ArgumentException($"EDF header field '{what}' holds {width} characters; '{value}' has {value.Length}.", nameof(value));
            }

            foreach (char c in value)
            {
                if (c is < ' ' or > '~')
                {
                    throw new ArgumentException($"EDF header field '{what}' must be printable ASCII; '{value}' is not.", nameof(value));
                }
            }

            Bytes.AsSpan(_pos, width).Fill((byte)' ');
            Encoding.ASCII.GetBytes(value, Bytes.AsSpan(_pos));
            _pos += width;
        }
    }
}
