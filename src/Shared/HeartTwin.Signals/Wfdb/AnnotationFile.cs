using System.Buffers.Binary;
using System.Text;

namespace HeartTwin.Signals.Wfdb;

/// <summary>
/// Reads and writes WFDB annotation files in MIT format: a stream of little-endian 16-bit words whose top 6 bits
/// are the code and low 10 bits a time difference, with the pseudo-codes SKIP, NUM, SUB, CHN and AUX.
/// </summary>
public static class AnnotationFile
{
    private const int Skip = 59;
    private const int Num = 60;
    private const int Sub = 61;
    private const int Chn = 62;
    private const int Aux = 63;

    /// <summary>Reads annotator <paramref name="annotator"/> (for example <c>atr</c>) of record <paramref name="recordName"/>.</summary>
    /// <exception cref="SignalFormatException">The file is missing or malformed.</exception>
    public static IReadOnlyList<Annotation> Read(string directory, string recordName, string annotator) =>
        Read(Path.Combine(directory, $"{recordName}.{annotator}"));

    /// <summary>Reads the annotation file at <paramref name="path"/>.</summary>
    /// <exception cref="SignalFormatException">The file is missing or malformed.</exception>
    public static IReadOnlyList<Annotation> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new SignalFormatException($"{path}: annotation file not found.");
        }

        return Parse(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Decodes MIT-format annotation bytes.</summary>
    /// <param name="data">The file's contents.</param>
    /// <param name="sourceName">The name to cite in error messages.</param>
    /// <exception cref="SignalFormatException">The bytes are not a valid MIT-format annotation stream.</exception>
    public static IReadOnlyList<Annotation> Parse(ReadOnlySpan<byte> data, string sourceName)
    {
        var result = new List<Annotation>();
        long time = 0;
        var chan = 0;
        var num = 0;
        var pos = 0;
        var ended = false;
        while (pos + 1 < data.Length)
        {
            var word = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]);
            pos += 2;
            var code = word >> 10;
            var value = word & 0x3FF;
            if (code == 0 && value == 0)
            {
                ended = true;
                break;
            }

            switch (code)
            {
                case Skip:
                    {
                        if (pos + 4 > data.Length)
                        {
                            throw new SignalFormatException($"{sourceName}: truncated SKIP at byte {pos - 2}.");
                        }

                        // The 32-bit interval is stored as two 16-bit words, high word first (PDP-11 order).
                        var high = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]);
                        var low = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 2)..]);
                        pos += 4;
                        time += (int)(((uint)high << 16) | low);
                        continue;
                    }

                case Num:
                    RequirePrevious(result, sourceName, "NUM", pos);
                    num = SignExtend10(value);
                    result[^1] = result[^1] with { Number = num };
                    continue;
                case Sub:
                    RequirePrevious(result, sourceName, "SUB", pos);
                    result[^1] = result[^1] with { SubType = SignExtend10(value) };
                    continue;
                case Chn:
                    RequirePrevious(result, sourceName, "CHN", pos);
                    chan = value;
                    result[^1] = result[^1] with { Channel = chan };
                    continue;
                case Aux:
                    {
                        RequirePrevious(result, sourceName, "AUX", pos);
                        if (pos + value > data.Length)
                        {
                            throw new SignalFormatException($"{sourceName}: AUX text of {value} bytes at byte {pos - 2} runs past the end of the file.");
                        }

                        var text = Encoding.Latin1.GetString(data.Slice(pos, value));
                        pos += value + (value & 1);
                        result[^1] = result[^1] with { Aux = text };
                        continue;
                    }

                default:
                    if (code > AnnotationCode.MaxCode)
                    {
                        throw new SignalFormatException($"{sourceName}: invalid annotation code {code} at byte {pos - 2}; this is not a MIT-format annotation file.");
                    }

                    if (code == 0)
                    {
                        // A zero code with a non-zero interval is a null annotation: it only advances time.
                        time += value;
                        continue;
                    }

                    time += value;
                    result.Add(new Annotation(time, code, 0, chan, num));
                    continue;
            }
        }

        if (!ended)
        {
            // WFDB writers always close the stream with a zero word; without it the file is cut short or is something else.
            throw new SignalFormatException(pos < data.Length
                ? $"{sourceName}: the file ends in the middle of a word; it is truncated or not an annotation file."
                : $"{sourceName}: the file has no end-of-annotations marker; it is truncated or not an annotation file.");
        }

        if (time < 0)
        {
            throw new SignalFormatException($"{sourceName}: annotation times run negative; this is not a valid annotation file.");
        }

        for (var i = 1; i < result.Count; i++)
        {
            if (result[i].Sample < result[i - 1].Sample)
            {
                throw new SignalFormatException($"{sourceName}: annotation {i} goes back in time ({result[i].Sample} after {result[i - 1].Sample}).");
            }
        }

        return result;
    }

    /// <summary>Writes annotations, sorted by time, to <paramref name="path"/> in MIT format.</summary>
    public static void Write(string path, IEnumerable<Annotation> annotations)
    {
        var bytes = Encode(annotations);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Encodes annotations in MIT format, as WFDB's <c>putann</c> does.</summary>
    /// <exception cref="ArgumentException">An annotation has a code, subtype, channel or number out of range, or times go backwards.</exception>
    public static byte[] Encode(IEnumerable<Annotation> annotations)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        using var stream = new MemoryStream();
        Span<byte> word = stackalloc byte[2];
        long time = 0;
        var chan = 0;
        var num = 0;

        void Put(int code, int value, Span<byte> buffer, MemoryStream s)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)((code << 10) | (value & 0x3FF)));
            s.Write(buffer);
        }

        foreach (var a in annotations)
        {
            if (a.Code < 1 || a.Code > AnnotationCode.MaxCode)
            {
                throw new ArgumentException($"Annotation code {a.Code} at sample {a.Sample} is outside 1..{AnnotationCode.MaxCode}.", nameof(annotations));
            }

            if (a.SubType is < -128 or > 127 || a.Number is < -128 or > 127 || a.Channel is < 0 or > 255)
            {
                throw new ArgumentException($"Annotation at sample {a.Sample} has subtype, number or channel out of range.", nameof(annotations));
            }

            var delta = a.Sample - time;
            if (delta < 0)
            {
                throw new ArgumentException($"Annotations must be in time order: {a.Sample} follows {time}.", nameof(annotations));
            }

            if (delta > 1023)
            {
                if (delta > int.MaxValue)
                {
                    throw new ArgumentException($"The interval before sample {a.Sample} is too long for one SKIP.", nameof(annotations));
                }

                Put(Skip, 0, word, stream);
                BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)(delta >> 16));
                stream.Write(word);
                BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)(delta & 0xFFFF));
                stream.Write(word);
                delta = 0;
            }

            Put(a.Code, (int)delta, word, stream);
            time = a.Sample;
            if (a.SubType != 0)
            {
                Put(Sub, a.SubType, word, stream);
            }

            if (a.Channel != chan)
            {
                Put(Chn, a.Channel, word, stream);
                chan = a.Channel;
            }

            if (a.Number != num)
            {
                Put(Num, a.Number, word, stream);
                num = a.Number;
            }

            if (a.Aux is { } aux)
            {
                var text = Encoding.Latin1.GetBytes(aux);
                if (text.Length > 255)
                {
                    throw new ArgumentException($"Aux text at sample {a.Sample} is longer than 255 bytes.", nameof(annotations));
                }

                Put(Aux, text.Length, word, stream);
                stream.Write(text);
                if ((text.Length & 1) == 1)
                {
                    stream.WriteByte(0);
                }
            }
        }

        Put(0, 0, word, stream);
        return stream.ToArray();
    }

    private static int SignExtend10(int value) => value > 511 ? value - 1024 : value;

    private static void RequirePrevious(List<Annotation> list, string source, string what, int pos)
    {
        if (list.Count == 0)
        {
            throw new SignalFormatException($"{source}: {what} at byte {pos - 2} modifies no annotation; this is not a valid annotation file.");
        }
    }
}
