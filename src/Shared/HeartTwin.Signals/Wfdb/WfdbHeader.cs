using System.Globalization;

namespace HeartTwin.Signals.Wfdb;

/// <summary>One signal line of a WFDB header (<c>.hea</c>).</summary>
/// <param name="FileName">The signal file that holds this signal, relative to the header's folder.</param>
/// <param name="Format">The storage format code (212, 16, 61, 80, 160, 8 …).</param>
/// <param name="SamplesPerFrame">Samples of this signal in each frame (1 unless the record is multi-frequency).</param>
/// <param name="Skew">Skew in frames, as declared; informational.</param>
/// <param name="ByteOffset">Bytes to skip at the start of the signal file before the first sample.</param>
/// <param name="AdcGain">ADC units per physical unit (for example 200 adu/mV).</param>
/// <param name="Baseline">The ADC value that corresponds to 0 physical units.</param>
/// <param name="Units">Physical units, for example <c>mV</c>.</param>
/// <param name="AdcResolution">ADC resolution in bits.</param>
/// <param name="AdcZero">The ADC value at the centre of the ADC's range.</param>
/// <param name="InitialValue">The first sample's value, used by difference formats.</param>
/// <param name="Checksum">16-bit checksum of all samples, or null when the header omits it.</param>
/// <param name="BlockSize">Block size in bytes; 0 for ordinary files.</param>
/// <param name="Description">The signal's description, typically the lead name (MLII, V1 …).</param>
public sealed record WfdbSignalSpec(
    string FileName,
    int Format,
    int SamplesPerFrame,
    int Skew,
    long ByteOffset,
    double AdcGain,
    int Baseline,
    string Units,
    int AdcResolution,
    int AdcZero,
    int InitialValue,
    int? Checksum,
    int BlockSize,
    string Description);

/// <summary>A parsed WFDB header: the record line, its signals and its comments.</summary>
/// <param name="RecordName">The record's name.</param>
/// <param name="SamplingFrequencyHz">Frames per second.</param>
/// <param name="NumberOfSamples">Samples per signal as declared, or null when the header omits it.</param>
/// <param name="BaseTime">Start time of day, if given.</param>
/// <param name="BaseDate">Start date, if given.</param>
/// <param name="Signals">One entry per signal, in header order.</param>
/// <param name="Comments">Comment lines without their leading <c>#</c>.</param>
public sealed record WfdbHeader(
    string RecordName,
    double SamplingFrequencyHz,
    long? NumberOfSamples,
    TimeOnly? BaseTime,
    DateOnly? BaseDate,
    IReadOnlyList<WfdbSignalSpec> Signals,
    IReadOnlyList<string> Comments)
{
    /// <summary>Formats this reader can decode.</summary>
    public static IReadOnlyList<int> SupportedFormats { get; } = [8, 16, 61, 80, 160, 212];

    /// <summary>Reads and parses <paramref name="path"/>.</summary>
    /// <exception cref="SignalFormatException">The header is missing or malformed.</exception>
    public static WfdbHeader Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new SignalFormatException($"{path}: header file not found.");
        }

        return Parse(File.ReadAllText(path), Path.GetFileName(path));
    }

    /// <summary>Parses header text. Accepts LF and CRLF line endings.</summary>
    /// <param name="text">The header's contents.</param>
    /// <param name="sourceName">The name to cite in error messages.</param>
    /// <exception cref="SignalFormatException">The header is malformed.</exception>
    public static WfdbHeader Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        var comments = new List<string>();
        var lines = new List<(int Number, string Text)>();
        var rawLines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n');
        for (var i = 0; i < rawLines.Length; i++)
        {
            var line = rawLines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '#')
            {
                comments.Add(line[1..].Trim());
                continue;
            }

            // A comment may also follow the fields of a record or signal line.
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash > 0)
            {
                comments.Add(line[(hash + 1)..].Trim());
                line = line[..hash].TrimEnd();
            }

            lines.Add((i + 1, line));
        }

        if (lines.Count == 0)
        {
            throw new SignalFormatException($"{sourceName}: the header has no record line.");
        }

        var (recordLineNumber, recordLine) = lines[0];
        var fields = SplitFields(recordLine);
        var name = fields[0];
        if (name.Contains('/', StringComparison.Ordinal))
        {
            throw new SignalFormatException($"{sourceName}: multi-segment records ('{name}') are not supported.");
        }

        if (fields.Length < 2)
        {
            throw new SignalFormatException($"{sourceName}, line {recordLineNumber}: the record line lacks the number of signals.");
        }

        var nsig = ParseInt(fields[1], sourceName, recordLineNumber, "number of signals");
        if (nsig < 0)
        {
            throw new SignalFormatException($"{sourceName}, line {recordLineNumber}: negative number of signals ({nsig}).");
        }

        var fs = 250.0; // WFDB's default when the field is absent.
        if (fields.Length > 2)
        {
            // Field is freq[/counterfreq[(basecounter)]].
            var freqText = fields[2];
            var slash = freqText.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                freqText = freqText[..slash];
            }

            if (!double.TryParse(freqText, NumberStyles.Float, CultureInfo.InvariantCulture, out fs) || !(fs > 0) || double.IsInfinity(fs))
            {
                throw new SignalFormatException($"{sourceName}, line {recordLineNumber}: invalid sampling frequency '{fields[2]}'.");
            }
        }

        long? nsamp = null;
        if (fields.Length > 3)
        {
            if (!long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 0)
            {
                throw new SignalFormatException($"{sourceName}, line {recordLineNumber}: invalid number of samples '{fields[3]}'.");
            }

            nsamp = n == 0 ? null : n;
        }

        TimeOnly? baseTime = null;
        DateOnly? baseDate = null;
        if (fields.Length > 4 && TimeOnly.TryParseExact(fields[4], ["H:mm:ss", "H:mm:ss.FFF", "H:mm", "m:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
        {
            baseTime = t;
        }

        if (fields.Length > 5 && DateOnly.TryParseExact(fields[5], "d/M/yyyy", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
        {
            baseDate = d;
        }

        if (lines.Count - 1 < nsig)
        {
            throw new SignalFormatException($"{sourceName}: the record line declares {nsig} signals but the header has {lines.Count - 1} signal lines.");
        }

        var signals = new List<WfdbSignalSpec>(nsig);
        for (var s = 0; s < nsig; s++)
        {
            var (lineNumber, line) = lines[s + 1];
            signals.Add(ParseSignal(line, sourceName, lineNumber));
        }

        return new WfdbHeader(name, fs, nsamp, baseTime, baseDate, signals, comments);
    }

    private static WfdbSignalSpec ParseSignal(string line, string source, int lineNumber)
    {
        // file format[xspf][:skew][+offset] gain[(baseline)][/units] adcres adczero initval checksum blocksize description…
        var fields = SplitFields(line);
        if (fields.Length < 2)
        {
            throw new SignalFormatException($"{source}, line {lineNumber}: a signal line needs at least a file name and a format.");
        }

        var file = fields[0];
        var formatField = fields[1];
        var offset = 0L;
        var skew = 0;
        var spf = 1;
        var plus = formatField.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            offset = ParseLong(formatField[(plus + 1)..], source, lineNumber, "byte offset");
            formatField = formatField[..plus];
        }

        var colon = formatField.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            skew = ParseInt(formatField[(colon + 1)..], source, lineNumber, "skew");
            formatField = formatField[..colon];
        }

        var x = formatField.IndexOf('x', StringComparison.Ordinal);
        if (x >= 0)
        {
            spf = ParseInt(formatField[(x + 1)..], source, lineNumber, "samples per frame");
            formatField = formatField[..x];
        }

        var format = ParseInt(formatField, source, lineNumber, "format");
        if (spf < 1)
        {
            throw new SignalFormatException($"{source}, line {lineNumber}: samples per frame must be at least 1 (got {spf}).");
        }

        var gain = 200.0;
        var units = "mV";
        int? baseline = null;
        if (fields.Length > 2)
        {
            var g = fields[2];
            var slash = g.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                units = g[(slash + 1)..];
                g = g[..slash];
            }

            var paren = g.IndexOf('(', StringComparison.Ordinal);
            if (paren >= 0)
            {
                var close = g.IndexOf(')', paren);
                if (close < 0)
                {
                    throw new SignalFormatException($"{source}, line {lineNumber}: unbalanced baseline '{fields[2]}'.");
                }

                baseline = ParseInt(g[(paren + 1)..close], source, lineNumber, "baseline");
                g = g[..paren];
            }

            if (!double.TryParse(g, NumberStyles.Float, CultureInfo.InvariantCulture, out gain) || double.IsNaN(gain) || double.IsInfinity(gain))
            {
                throw new SignalFormatException($"{source}, line {lineNumber}: invalid ADC gain '{fields[2]}'.");
            }

            if (gain == 0)
            {
                gain = 200.0; // WFDB: a zero gain means "uncalibrated", read with the default gain.
            }
        }

        var adcres = fields.Length > 3 ? ParseInt(fields[3], source, lineNumber, "ADC resolution") : 0;
        var adczero = fields.Length > 4 ? ParseInt(fields[4], source, lineNumber, "ADC zero") : 0;
        var init = fields.Length > 5 ? ParseInt(fields[5], source, lineNumber, "initial value") : adczero;
        int? checksum = fields.Length > 6 ? ParseInt(fields[6], source, lineNumber, "checksum") : null;
        var block = fields.Length > 7 ? ParseInt(fields[7], source, lineNumber, "block size") : 0;
        var description = fields.Length > 8 ? string.Join(' ', fields[8..]) : string.Empty;

        return new WfdbSignalSpec(file, format, spf, skew, offset, gain, baseline ?? adczero, units, adcres, adczero, init, checksum, block, description);
    }

    private static string[] SplitFields(string line) =>
        line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static int ParseInt(string text, string source, int line, string what) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new SignalFormatException($"{source}, line {line}: invalid {what} '{text}'.");

    private static long ParseLong(string text, string source, int line, string what) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new SignalFormatException($"{source}, line {line}: invalid {what} '{text}'.");
}
