using System.Globalization;
using System.Text;

namespace HeartTwin.Signals.Edf;

/// <summary>
/// Reads and writes EDF+ Time-stamped Annotation Lists (TALs):
/// <c>+Onset[\x15Duration]\x14Text1\x14Text2\x14...\x14\x00</c>, packed into the bytes of an
/// "EDF Annotations" channel within one data record, unused bytes set to 0.
/// </summary>
internal static class EdfTal
{
    internal const byte DurationMark = 0x15;
    internal const byte TextEnd = 0x14;
    internal const byte TalEnd = 0x00;

    // Strict UTF-8: EDF+ says annotation texts are UTF-8, and a decoding failure means a corrupt channel,
    // which we report rather than paper over with replacement characters.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses all TALs of one annotation channel in one data record, appending annotations (empty texts skipped).
    /// </summary>
    /// <param name="data">The channel's bytes in this record.</param>
    /// <param name="isTimeKeeping">Whether this is the file's first annotation channel, whose first TAL is the record's time-keeping TAL.</param>
    /// <param name="annotations">Receives the annotations.</param>
    /// <param name="where">Names file, data record and channel in error messages.</param>
    /// <returns>The record onset in seconds when <paramref name="isTimeKeeping"/>; otherwise NaN.</returns>
    internal static double Parse(ReadOnlySpan<byte> data, bool isTimeKeeping, List<EdfAnnotation> annotations, in TalLocation where)
    {
        double recordOnset = double.NaN;
        bool first = true;
        int pos = 0;
        while (pos < data.Length)
        {
            if (data[pos] == TalEnd)
            {
                // Padding after the last TAL (the standard fills unused bytes with 0).
                pos++;
                continue;
            }

            int talStart = pos;
            int onsetEnd = IndexOfAny(data, pos, DurationMark, TextEnd);
            if (onsetEnd < 0)
            {
                throw Fail(where, talStart, "the onset is not followed by 0x14 (TAL is cut off)");
            }

            double onset = ParseNumber(data[pos..onsetEnd], signed: true, where, talStart, "onset");
            double? duration = null;
            pos = onsetEnd;
            if (data[pos] == DurationMark)
            {
                int durationEnd = IndexOfAny(data, pos + 1, TextEnd, TextEnd);
                if (durationEnd < 0)
                {
                    throw Fail(where, talStart, "the duration is not followed by 0x14 (TAL is cut off)");
                }

                duration = ParseNumber(data[(pos + 1)..durationEnd], signed: false, where, talStart, "duration");
                pos = durationEnd;
            }

            pos++; // skip the 0x14 that closes onset[/duration]
            bool firstText = true;
            while (true)
            {
                if (pos >= data.Length)
                {
                    throw Fail(where, talStart, "the TAL does not end with 0x14 0x00 before the channel's bytes run out");
                }

                if (data[pos] == TalEnd)
                {
                    pos++;
                    break;
                }

                int textEnd = IndexOfAny(data, pos, TextEnd, TalEnd);
                if (textEnd < 0 || data[textEnd] != TextEnd)
                {
                    throw Fail(where, talStart, "an annotation text is not terminated by 0x14");
                }

                string text;
                try
                {
                    text = StrictUtf8.GetString(data[pos..textEnd]);
                }
                catch (DecoderFallbackException ex)
                {
                    throw new SignalFormatException($"{where.Describe()}: unreadable TAL at byte {talStart}: annotation text is not valid UTF-8.", ex);
                }

                if (first && firstText && isTimeKeeping)
                {
                    if (text.Length != 0)
                    {
                        throw Fail(where, talStart, "the first TAL must be the time-keeping TAL (an onset followed by an empty annotation)");
                    }

                    recordOnset = onset;
                }
                else if (text.Length != 0)
                {
                    annotations.Add(new EdfAnnotation(onset, duration, text));
                }

                firstText = false;
                pos = textEnd + 1;
            }

            if (first && isTimeKeeping && double.IsNaN(recordOnset))
            {
                throw Fail(where, talStart, "the first TAL must be the time-keeping TAL (an onset followed by an empty annotation)");
            }

            first = false;
        }

        if (isTimeKeeping && double.IsNaN(recordOnset))
        {
            throw new SignalFormatException($"{where.Describe()}: unreadable TALs: the record has no time-keeping TAL (the channel holds only zero bytes).");
        }

        return recordOnset;
    }

    /// <summary>Number of bytes <see cref="Write"/> needs for one TAL.</summary>
    internal static int Measure(double onsetSeconds, double? durationSeconds, string text)
    {
        int n = Encoding.ASCII.GetByteCount(FormatOnset(onsetSeconds)) + 1;
        if (durationSeconds is double d)
        {
            n += 1 + Encoding.ASCII.GetByteCount(FormatDuration(d));
        }

        return n + StrictUtf8.GetByteCount(text) + 2;
    }

    /// <summary>Writes one TAL with a single annotation text (empty for the time-keeping TAL); returns bytes written.</summary>
    internal static int Write(Span<byte> destination, double onsetSeconds, double? durationSeconds, string text)
    {
        int pos = Encoding.ASCII.GetBytes(FormatOnset(onsetSeconds), destination);
        if (durationSeconds is double d)
        {
            destination[pos++] = DurationMark;
            pos += Encoding.ASCII.GetBytes(FormatDuration(d), destination[pos..]);
        }

        destination[pos++] = TextEnd;
        pos += StrictUtf8.GetBytes(text, destination[pos..]);
        destination[pos++] = TextEnd;
        destination[pos++] = TalEnd;
        return pos;
    }

    /// <summary>Checks that a text can be stored in a TAL: no 0x00, 0x14 or 0x15, which delimit TALs.</summary>
    internal static bool IsStorable(string text) => text.AsSpan().IndexOfAny('\0', '\u0014', '\u0015') < 0;

    // TAL numbers have no exponent; nine decimals keep nanosecond resolution, far below any sample period.
    private static string FormatOnset(double seconds) =>
        (seconds < 0 ? "-" : "+") + Math.Abs(seconds).ToString("0.#########", CultureInfo.InvariantCulture);

    private static string FormatDuration(double seconds) => seconds.ToString("0.#########", CultureInfo.InvariantCulture);

    private static int IndexOfAny(ReadOnlySpan<byte> data, int start, byte a, byte b)
    {
        int i = data[start..].IndexOfAny(a, b);
        return i < 0 ? -1 : start + i;
    }

    private static double ParseNumber(ReadOnlySpan<byte> text, bool signed, in TalLocation where, int talStart, string what)
    {
        // Grammar from the EDF+ spec: onset = ('+'|'-') digits ['.' digits]; duration = digits ['.' digits].
        int i = 0;
        if (signed)
        {
            if (text.Length == 0 || (text[0] != (byte)'+' && text[0] != (byte)'-'))
            {
                throw Fail(where, talStart, $"the {what} '{Printable(text)}' does not start with '+' or '-'");
            }

            i = 1;
        }

        int digits = 0;
        int dots = 0;
        for (; i < text.Length; i++)
        {
            byte c = text[i];
            if (c is >= (byte)'0' and <= (byte)'9')
            {
                digits++;
            }
            else if (c == (byte)'.' && dots == 0)
            {
                dots++;
            }
            else
            {
                throw Fail(where, talStart, $"the {what} '{Printable(text)}' is not a decimal number");
            }
        }

        if (digits == 0 || !double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || double.IsInfinity(value))
        {
            throw Fail(where, talStart, $"the {what} '{Printable(text)}' is not a decimal number");
        }

        return value;
    }

    private static string Printable(ReadOnlySpan<byte> text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (byte b in text)
        {
            if (b is >= 32 and < 127)
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return sb.ToString();
    }

    /// <summary>Where a TAL sits, for error messages; a struct so that reading a record allocates nothing for it.</summary>
    internal readonly record struct TalLocation(string Source, int Record, int Channel, string Label)
    {
        public string Describe() => $"EDF file '{Source}': data record {Record}, annotation signal {Channel + 1} ('{Label}')";
    }

    private static SignalFormatException Fail(in TalLocation where, int talStart, string problem) =>
        new($"{where.Describe()}: unreadable TAL at byte {talStart}: {problem}.");
}
