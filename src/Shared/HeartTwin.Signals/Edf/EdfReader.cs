using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace HeartTwin.Signals.Edf;

/// <summary>
/// Reads EDF and EDF+ files (https://www.edfplus.info/specs/edf.html, edfplus.html): the header, the
/// 16-bit samples of every signal and the annotations of every "EDF Annotations" channel.
/// </summary>
/// <remarks>
/// Every inconsistency is reported as a <see cref="SignalFormatException"/> whose message names the file and the
/// problem; nothing is repaired silently. In particular the file size must equal
/// header bytes + number of data records × record bytes exactly. BDF (24-bit) files are recognised and refused.
/// </remarks>
public static class EdfReader
{
    private const int FixedHeaderBytes = 256;
    private const int BytesPerSignalHeader = 256;

    /// <summary>Reads a whole EDF/EDF+ file.</summary>
    /// <param name="path">Path of the file; it is named in error messages.</param>
    /// <returns>The decoded recording.</returns>
    /// <exception cref="SignalFormatException">The file is malformed or inconsistent.</exception>
    public static EdfFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a whole EDF/EDF+ file held in memory.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="sourceName">Name used for the file in error messages.</param>
    /// <returns>The decoded recording.</returns>
    /// <exception cref="SignalFormatException">The data are malformed or inconsistent.</exception>
    public static EdfFile Read(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, sourceName);
    }

    /// <summary>
    /// Reads an EDF/EDF+ file from a stream positioned at its first byte and reading to its end.
    /// A non-seekable stream is first buffered in memory, because the size check needs the total length.
    /// </summary>
    /// <param name="stream">The stream; it is not disposed.</param>
    /// <param name="sourceName">Name used for the file in error messages.</param>
    /// <returns>The decoded recording.</returns>
    /// <exception cref="SignalFormatException">The data are malformed or inconsistent.</exception>
    public static EdfFile Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (!stream.CanSeek)
        {
            using var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            return Read(buffered, sourceName);
        }

        EdfHeader header = ReadHeader(stream, sourceName);
        return ReadData(stream, sourceName, header);
    }

    /// <summary>Reads and checks only the header of an EDF/EDF+ file (including the file-size check).</summary>
    /// <param name="path">Path of the file; it is named in error messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="SignalFormatException">The header is malformed or disagrees with the file size.</exception>
    public static EdfHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    private static EdfHeader ReadHeader(Stream stream, string source)
    {
        long fileBytes = stream.Length - stream.Position;
        if (fileBytes < FixedHeaderBytes)
        {
            throw Fail(source, $"the file is {fileBytes} bytes long, shorter than the {FixedHeaderBytes}-byte EDF fixed header");
        }

        byte[] fixedHeader = new byte[FixedHeaderBytes];
        stream.ReadExactly(fixedHeader);
        var fields = new FieldReader(fixedHeader, source);

        if (fixedHeader[0] == 0xFF)
        {
            throw Fail(source, "this is a BDF (24-bit) file, which this reader does not support; only 16-bit EDF and EDF+ are read");
        }

        string version = fields.Text(8).Trim();
        if (version != "0")
        {
            throw Fail(source, $"the version field is '{version}' but EDF requires '0' (is this an EDF file?)");
        }

        string patient = fields.Text(80).TrimEnd();
        string recording = fields.Text(80).TrimEnd();
        string date = fields.Text(8);
        string time = fields.Text(8);
        int headerBytes = fields.Int(8, "number of bytes in header");
        string reserved = fields.Text(44).TrimEnd();
        int declaredRecords = fields.Int(8, "number of data records");
        decimal recordDuration = fields.Decimal(8, "duration of a data record");
        int signalCount = fields.Int(4, "number of signals");

        EdfVariant variant = ParseVariant(source, reserved);
        DateTime start = ParseStart(source, date, time, recording, variant);

        if (signalCount < 1)
        {
            throw Fail(source, $"the number of signals is {signalCount}; a file needs at least one signal");
        }

        long expectedHeaderBytes = (long)BytesPerSignalHeader * (signalCount + 1);
        if (headerBytes != expectedHeaderBytes)
        {
            throw Fail(source, $"the header says it is {headerBytes} bytes, but with {signalCount} signals the header must be 256 × (1 + {signalCount}) = {expectedHeaderBytes} bytes");
        }

        if (declaredRecords < -1)
        {
            throw Fail(source, $"the number of data records is {declaredRecords}; it must be -1 (unknown) or at least 0");
        }

        if (recordDuration < 0)
        {
            throw Fail(source, $"the duration of a data record is {recordDuration.ToString(CultureInfo.InvariantCulture)} s, which is negative");
        }

        if (fileBytes < headerBytes)
        {
            throw Fail(source, $"the file is {fileBytes} bytes long but its header alone must be {headerBytes} bytes (truncated header)");
        }

        byte[] signalHeader = new byte[headerBytes - FixedHeaderBytes];
        stream.ReadExactly(signalHeader);
        EdfSignalHeader[] signals = ParseSignalHeaders(source, signalHeader, signalCount);

        bool hasSampledSignals = false;
        long recordBytes = 0;
        foreach (EdfSignalHeader s in signals)
        {
            hasSampledSignals |= !s.IsAnnotation;
            recordBytes += 2L * s.SamplesPerRecord;
        }

        if (recordDuration == 0 && hasSampledSignals)
        {
            throw Fail(source, "the duration of a data record is 0, which the standard allows only for files that hold annotations alone; this file has sampled signals");
        }

        if (recordBytes > Array.MaxLength)
        {
            throw Fail(source, $"one data record would be {recordBytes} bytes, more than can be read");
        }

        long dataBytes = fileBytes - headerBytes;
        int records;
        if (declaredRecords == -1)
        {
            if (dataBytes % recordBytes != 0)
            {
                throw Fail(source, $"the number of data records is -1 (unknown) and the {dataBytes} data bytes are not a whole number of {recordBytes}-byte data records: the last record is truncated ({dataBytes % recordBytes} bytes of it present)");
            }

            long derived = dataBytes / recordBytes;
            if (derived > int.MaxValue)
            {
                throw Fail(source, $"the file holds {derived} data records, more than can be read");
            }

            records = (int)derived;
        }
        else
        {
            records = declaredRecords;
            long expectedFileBytes = headerBytes + (declaredRecords * recordBytes);
            if (fileBytes != expectedFileBytes)
            {
                string detail = fileBytes < expectedFileBytes
                    ? $"the file is truncated: {(dataBytes / recordBytes)} whole data records present, {dataBytes % recordBytes} bytes of a partial one"
                    : $"{fileBytes - expectedFileBytes} bytes follow the last declared data record";
                throw Fail(source, $"the header declares {declaredRecords} data records of {recordBytes} bytes, so the file should be {headerBytes} + {declaredRecords} × {recordBytes} = {expectedFileBytes} bytes, but it is {fileBytes} bytes; {detail}");
            }
        }

        foreach (EdfSignalHeader s in signals)
        {
            if (!s.IsAnnotation && (long)records * s.SamplesPerRecord > Array.MaxLength)
            {
                throw Fail(source, $"signal '{s.Label}' has {(long)records * s.SamplesPerRecord} samples, more than one array can hold");
            }
        }

        return new EdfHeader(version, patient, recording, start, headerBytes, reserved, variant, declaredRecords, records, (double)recordDuration, signals);
    }

    private static EdfFile ReadData(Stream stream, string source, EdfHeader header)
    {
        IReadOnlyList<EdfSignalHeader> headers = header.Signals;
        int records = header.DataRecordCount;
        double duration = header.RecordDurationSeconds;
        decimal exactDuration = (decimal)duration;

        var signalData = new short[headers.Count][];
        int firstAnnotationChannel = -1;
        for (int i = 0; i < headers.Count; i++)
        {
            if (headers[i].IsAnnotation)
            {
                if (firstAnnotationChannel < 0)
                {
                    firstAnnotationChannel = i;
                }
            }
            else
            {
                signalData[i] = new short[(long)records * headers[i].SamplesPerRecord];
            }
        }

        if (header.Variant == EdfVariant.EdfPlusDiscontinuous && firstAnnotationChannel < 0)
        {
            throw Fail(source, "it is EDF+D (discontinuous) but has no 'EDF Annotations' channel, so the onsets of its data records are unknown");
        }

        // Only EDF+ defines time-keeping TALs; in plain EDF an annotation channel (non-standard) holds annotations only.
        bool useTimeKeeping = header.IsEdfPlus && firstAnnotationChannel >= 0;
        var onsets = new double[records];
        var annotations = new List<EdfAnnotation>();
        byte[] record = new byte[header.RecordBytes];
        for (int r = 0; r < records; r++)
        {
            stream.ReadExactly(record);
            int offset = 0;
            onsets[r] = r * duration;
            for (int i = 0; i < headers.Count; i++)
            {
                int perRecord = headers[i].SamplesPerRecord;
                ReadOnlySpan<byte> bytes = record.AsSpan(offset, 2 * perRecord);
                offset += 2 * perRecord;
                if (headers[i].IsAnnotation)
                {
                    double onset = EdfTal.Parse(
                        bytes,
                        isTimeKeeping: useTimeKeeping && i == firstAnnotationChannel,
                        annotations,
                        new EdfTal.TalLocation(source, r, i, headers[i].Label));
                    if (useTimeKeeping && i == firstAnnotationChannel)
                    {
                        onsets[r] = onset;
                    }
                }
                else
                {
                    Span<short> destination = signalData[i].AsSpan(r * perRecord, perRecord);
                    if (BitConverter.IsLittleEndian)
                    {
                        MemoryMarshal.Cast<byte, short>(bytes).CopyTo(destination);
                    }
                    else
                    {
                        for (int k = 0; k < perRecord; k++)
                        {
                            destination[k] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * k)..]);
                        }
                    }
                }
            }
        }

        var signals = new List<EdfSignal>(headers.Count);
        for (int i = 0; i < headers.Count; i++)
        {
            if (!headers[i].IsAnnotation)
            {
                // Decimal division keeps e.g. 36 samples / 0.1 s at exactly 360 Hz.
                double rate = (double)(headers[i].SamplesPerRecord / exactDuration);
                signals.Add(new EdfSignal(headers[i], signalData[i], rate));
            }
        }

        EdfAnnotation[] sorted = [.. annotations.OrderBy(a => a.OnsetSeconds)];
        return new EdfFile(header, signals, sorted, onsets);
    }

    private static EdfVariant ParseVariant(string source, string reserved)
    {
        if (!reserved.StartsWith("EDF+", StringComparison.Ordinal))
        {
            return EdfVariant.Edf;
        }

        if (reserved.StartsWith("EDF+C", StringComparison.Ordinal))
        {
            return EdfVariant.EdfPlusContinuous;
        }

        if (reserved.StartsWith("EDF+D", StringComparison.Ordinal))
        {
            return EdfVariant.EdfPlusDiscontinuous;
        }

        throw Fail(source, $"the reserved field '{reserved}' starts with 'EDF+' but is neither 'EDF+C' nor 'EDF+D'");
    }

    private static DateTime ParseStart(string source, string date, string time, string recording, EdfVariant variant)
    {
        if (!IsDotted(date, allowYy: true))
        {
            throw Fail(source, $"the start date '{date}' is not in the form dd.mm.yy");
        }

        if (!IsDotted(time, allowYy: false))
        {
            throw Fail(source, $"the start time '{time}' is not in the form hh.mm.ss");
        }

        int day = Two(date, 0);
        int month = Two(date, 3);
        int year;
        if (date[6] == 'y')
        {
            // EDF+ writes "yy" after 2084 and keeps the full year only in the recording field's "Startdate dd-MMM-yyyy".
            year = YearFromRecordingField(recording);
            if (variant == EdfVariant.Edf || year < 0)
            {
                throw Fail(source, $"the start date '{date}' has no year and the recording field gives none as 'Startdate dd-MMM-yyyy'");
            }
        }
        else
        {
            // EDF's clipping rule: 85–99 are 1985–1999, 00–84 are 2000–2084.
            int yy = Two(date, 6);
            year = yy >= 85 ? 1900 + yy : 2000 + yy;
        }

        int hour = Two(time, 0);
        int minute = Two(time, 3);
        int second = Two(time, 6);
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            throw Fail(source, $"the start date '{date}' is not a valid calendar date");
        }

        if (hour > 23 || minute > 59 || second > 59)
        {
            throw Fail(source, $"the start time '{time}' is not a valid time of day");
        }

        return new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
    }

    private static int YearFromRecordingField(string recording)
    {
        string[] parts = recording.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 2 && parts[0] == "Startdate"
            && DateTime.TryParseExact(parts[1], "dd-MMM-yyyy", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime d))
        {
            return d.Year;
        }

        return -1;
    }

    private static bool IsDotted(string s, bool allowYy)
    {
        if (s.Length != 8 || s[2] != '.' || s[5] != '.')
        {
            return false;
        }

        for (int i = 0; i < 8; i++)
        {
            if (i is 2 or 5)
            {
                continue;
            }

            if (!char.IsAsciiDigit(s[i]) && !(allowYy && i >= 6 && s[6] == 'y' && s[7] == 'y'))
            {
                return false;
            }
        }

        return true;
    }

    private static int Two(string s, int at) => ((s[at] - '0') * 10) + (s[at + 1] - '0');

    private static EdfSignalHeader[] ParseSignalHeaders(string source, byte[] bytes, int ns)
    {
        // The per-signal header is stored field by field: ns labels, then ns transducers, and so on.
        var fields = new FieldReader(bytes, source);
        string[] labels = fields.Texts(16, ns);
        string[] transducers = fields.Texts(80, ns);
        string[] dimensions = fields.Texts(8, ns);
        string[] physMin = fields.Texts(8, ns);
        string[] physMax = fields.Texts(8, ns);
        string[] digMin = fields.Texts(8, ns);
        string[] digMax = fields.Texts(8, ns);
        string[] prefilter = fields.Texts(80, ns);
        string[] samples = fields.Texts(8, ns);
        string[] reserved = fields.Texts(32, ns);

        var result = new EdfSignalHeader[ns];
        for (int i = 0; i < ns; i++)
        {
            string label = labels[i];
            string who = $"signal {i + 1} ('{label}')";
            double pMin = ParseDouble(source, physMin[i], $"physical minimum of {who}");
            double pMax = ParseDouble(source, physMax[i], $"physical maximum of {who}");
            int dMin = ParseInt(source, digMin[i], $"digital minimum of {who}");
            int dMax = ParseInt(source, digMax[i], $"digital maximum of {who}");
            int perRecord = ParseInt(source, samples[i], $"number of samples per data record of {who}");
            if (perRecord <= 0)
            {
                throw Fail(source, $"the number of samples per data record of {who} is {perRecord}; it must be positive");
            }

            var header = new EdfSignalHeader(label, transducers[i], dimensions[i], pMin, pMax, dMin, dMax, prefilter[i], perRecord, reserved[i]);

            // The scaling fields of an annotation channel are placeholders that nothing uses, so they are not checked.
            if (!header.IsAnnotation)
            {
                if (dMin < short.MinValue || dMax > short.MaxValue)
                {
                    throw Fail(source, $"the digital range [{dMin}, {dMax}] of {who} exceeds the 16-bit range [-32768, 32767]");
                }

                if (dMin >= dMax)
                {
                    throw Fail(source, $"the digital minimum ({dMin}) of {who} is not less than its digital maximum ({dMax})");
                }

                if (pMin == pMax)
                {
                    throw Fail(source, $"the physical minimum and maximum of {who} are both {pMin.ToString(CultureInfo.InvariantCulture)}, so samples cannot be scaled");
                }
            }

            result[i] = header;
        }

        return result;
    }

    private static int ParseInt(string source, string field, string what)
    {
        string t = field.Trim();
        if (!int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            throw Fail(source, $"the {what} is '{t}', which is not an integer");
        }

        return value;
    }

    private static double ParseDouble(string source, string field, string what)
    {
        string t = field.Trim();
        if (!double.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value))
        {
            throw Fail(source, $"the {what} is '{t}', which is not a number");
        }

        return value;
    }

    private static SignalFormatException Fail(string source, string problem) => new($"EDF file '{source}': {problem}.");

    /// <summary>Walks fixed-width ASCII header fields.</summary>
    private sealed class FieldReader(byte[] bytes, string source)
    {
        private int _pos;

        public string Text(int width)
        {
            // Latin-1 maps every byte to one char, so non-ASCII bytes in free-text fields survive unchanged.
            string s = Encoding.Latin1.GetString(bytes, _pos, width);
            _pos += width;
            return s;
        }

        public string[] Texts(int width, int count)
        {
            var result = new string[count];
            for (int i = 0; i < count; i++)
            {
                result[i] = Text(width).TrimEnd();
            }

            return result;
        }

        public int Int(int width, string what) => ParseInt(source, Text(width), what);

        public decimal Decimal(int width, string what)
        {
            string t = Text(width).Trim();
            if (!decimal.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out decimal value))
            {
                throw Fail(source, $"the {what} is '{t}', which is not a number");
            }

            return value;
        }
    }
}
