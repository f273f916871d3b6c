namespace HeartTwin.Signals.Wfdb;

/// <summary>
/// A WFDB record read into memory: the header and each signal's samples in ADC units.
/// Signals stored several samples per frame are averaged to one sample per frame, as WFDB's <c>getvec</c> does,
/// so every signal here has the record's frame rate.
/// </summary>
public sealed class WfdbRecord
{
    private readonly int[][] _adc;

    private WfdbRecord(WfdbHeader header, int[][] adc, long frames)
    {
        Header = header;
        _adc = adc;
        Length = frames;
    }

    /// <summary>The parsed header.</summary>
    public WfdbHeader Header { get; }

    /// <summary>Samples per signal (frames).</summary>
    public long Length { get; }

    /// <summary>Number of signals.</summary>
    public int SignalCount => _adc.Length;

    /// <summary>Frames per second, in Hz.</summary>
    public double SamplingFrequencyHz => Header.SamplingFrequencyHz;

    /// <summary>The samples of signal <paramref name="signal"/> in ADC units.</summary>
    public ReadOnlySpan<int> Adc(int signal) => _adc[signal];

    /// <summary>
    /// The samples of signal <paramref name="signal"/> in physical units (the header's units, usually mV):
    /// (adc − baseline) / gain. WFDB's invalid-sample marker becomes NaN.
    /// </summary>
    public float[] Physical(int signal)
    {
        var spec = Header.Signals[signal];
        var adc = _adc[signal];
        var invalid = InvalidSampleValue(spec.Format);
        var result = new float[adc.Length];
        var scale = 1.0 / spec.AdcGain;
        for (var i = 0; i < adc.Length; i++)
        {
            result[i] = adc[i] == invalid ? float.NaN : (float)((adc[i] - spec.Baseline) * scale);
        }

        return result;
    }

    /// <summary>Reads record <paramref name="recordName"/> from folder <paramref name="directory"/>.</summary>
    /// <param name="directory">The database folder holding <c>recordName.hea</c> and its signal files.</param>
    /// <param name="recordName">The record's name, without extension.</param>
    /// <param name="verifyChecksums">Whether to compare each signal's 16-bit checksum with the header's.</param>
    /// <exception cref="SignalFormatException">A file is missing, truncated, inconsistent or in an unsupported format.</exception>
    public static WfdbRecord Read(string directory, string recordName, bool verifyChecksums = true)
    {
        var headerPath = Path.Combine(directory, recordName + ".hea");
        var header = WfdbHeader.Read(headerPath);
        return Read(header, directory, verifyChecksums);
    }

    /// <summary>Reads the signals that <paramref name="header"/> describes from files in <paramref name="directory"/>.</summary>
    /// <exception cref="SignalFormatException">A file is missing, truncated, inconsistent or in an unsupported format.</exception>
    public static WfdbRecord Read(WfdbHeader header, string directory, bool verifyChecksums = true)
    {
        ArgumentNullException.ThrowIfNull(header);
        var signals = header.Signals;
        var adc = new int[signals.Count][];
        if (signals.Count == 0)
        {
            return new WfdbRecord(header, adc, header.NumberOfSamples ?? 0);
        }

        foreach (var s in signals)
        {
            if (!WfdbHeader.SupportedFormats.Contains(s.Format))
            {
                throw new SignalFormatException(
                    $"{header.RecordName}.hea: signal '{s.Description}' uses format {s.Format}, which is not supported (supported: {string.Join(", ", WfdbHeader.SupportedFormats)}).");
            }
        }

        // Signals that share a file are interleaved frame by frame, in header order.
        long? frames = header.NumberOfSamples;
        var groups = signals.Select((spec, index) => (spec, index)).GroupBy(x => x.spec.FileName, StringComparer.Ordinal).ToList();
        var decodedGroups = new List<(List<(WfdbSignalSpec Spec, int Index)> Members, int[] Stream, long Frames)>();
        foreach (var group in groups)
        {
            var members = group.ToList();
            if (members.Select(m => m.spec.Format).Distinct().Count() > 1)
            {
                throw new SignalFormatException($"{header.RecordName}.hea: signals in {group.Key} mix formats, which WFDB does not allow.");
            }

            var samplesPerFrame = members.Sum(m => m.spec.SamplesPerFrame);
            var path = Path.Combine(directory, group.Key);
            if (!File.Exists(path))
            {
                throw new SignalFormatException($"{path}: signal file not found (named by {header.RecordName}.hea).");
            }

            var bytes = File.ReadAllBytes(path);
            var first = members[0].spec;
            var offset = first.ByteOffset;
            if (offset > bytes.Length)
            {
                throw new SignalFormatException($"{path}: the byte offset {offset} lies beyond the file's {bytes.Length} bytes.");
            }

            var data = bytes.AsSpan((int)offset);
            var available = SampleCapacity(first.Format, data.Length);
            var availableFrames = available / samplesPerFrame;
            long groupFrames;
            if (frames is { } declared)
            {
                if (availableFrames < declared)
                {
                    throw new SignalFormatException(
                        $"{path}: the header declares {declared} samples per signal, but the file holds only {availableFrames} (truncated or wrong header).");
                }

                groupFrames = declared;
            }
            else
            {
                groupFrames = availableFrames;
            }

            if (groupFrames * samplesPerFrame > int.MaxValue)
            {
                throw new SignalFormatException($"{path}: the record is too long to read into memory at once.");
            }

            var initial = members.SelectMany(m => Enumerable.Repeat(m.spec.InitialValue, m.spec.SamplesPerFrame)).ToArray();
            var stream = Decode(first.Format, data, (int)(groupFrames * samplesPerFrame), initial);
            decodedGroups.Add((members.Select(m => (m.spec, m.index)).ToList(), stream, groupFrames));
        }

        var length = frames ?? decodedGroups.Min(g => g.Frames);
        foreach (var (members, stream, _) in decodedGroups)
        {
            var samplesPerFrame = members.Sum(m => m.Spec.SamplesPerFrame);
            var position = 0;
            foreach (var (spec, index) in members)
            {
                var result = new int[length];
                var spf = spec.SamplesPerFrame;
                var sum = 0;
                for (long f = 0; f < length; f++)
                {
                    var baseIndex = (int)(f * samplesPerFrame) + position;
                    if (spf == 1)
                    {
                        var v = stream[baseIndex];
                        result[f] = v;
                        sum += v;
                    }
                    else
                    {
                        long acc = 0;
                        for (var k = 0; k < spf; k++)
                        {
                            var v = stream[baseIndex + k];
                            acc += v;
                            sum += v;
                        }

                        result[f] = (int)Math.Round(acc / (double)spf, MidpointRounding.ToNegativeInfinity);
                    }
                }

                if (verifyChecksums && spec.Checksum is { } expected && (short)sum != (short)expected)
                {
                    throw new SignalFormatException(
                        $"{header.RecordName}: checksum of signal '{spec.Description}' in {spec.FileName} is {(short)sum}, but the header says {expected}; the file is corrupt or does not belong to this header.");
                }

                adc[index] = result;
                position += spf;
            }
        }

        return new WfdbRecord(header, adc, length);
    }

    private static long SampleCapacity(int format, long bytes) => format switch
    {
        212 => bytes / 3 * 2 + (bytes % 3 >= 2 ? 1 : 0),
        16 or 61 or 160 => bytes / 2,
        80 or 8 => bytes,
        _ => 0,
    };

    private static int InvalidSampleValue(int format) => format switch
    {
        212 => -2048,
        80 or 8 => -128,
        _ => -32768,
    };

    /// <summary>Decodes <paramref name="count"/> interleaved samples of one file.</summary>
    internal static int[] Decode(int format, ReadOnlySpan<byte> data, int count, ReadOnlySpan<int> initialValues)
    {
        var result = new int[count];
        switch (format)
        {
            case 212:
                // Two 12-bit two's complement samples in three bytes: low byte of s0, then the high nibbles, then low byte of s1.
                for (int i = 0, b = 0; i < count; i += 2, b += 3)
                {
                    var b0 = data[b];
                    var b1 = data[b + 1];
                    var s0 = b0 | ((b1 & 0x0F) << 8);
                    result[i] = s0 >= 2048 ? s0 - 4096 : s0;
                    if (i + 1 < count)
                    {
                        var s1 = data[b + 2] | ((b1 & 0xF0) << 4);
                        result[i + 1] = s1 >= 2048 ? s1 - 4096 : s1;
                    }
                }

                break;
            case 16:
                for (var i = 0; i < count; i++)
                {
                    result[i] = (short)(data[2 * i] | (data[(2 * i) + 1] << 8));
                }

                break;
            case 61:
                for (var i = 0; i < count; i++)
                {
                    result[i] = (short)((data[2 * i] << 8) | data[(2 * i) + 1]);
                }

                break;
            case 160:
                for (var i = 0; i < count; i++)
                {
                    result[i] = (data[2 * i] | (data[(2 * i) + 1] << 8)) - 32768;
                }

                break;
            case 80:
                for (var i = 0; i < count; i++)
                {
                    result[i] = data[i] - 128;
                }

                break;
            case 8:
                {
                    // First differences, one running value per interleaved sample slot.
                    var width = initialValues.Length;
                    var running = initialValues.ToArray();
                    for (var i = 0; i < count; i++)
                    {
                        var slot = i % width;
                        running[slot] += (sbyte)data[i];
                        result[i] = running[slot];
                    }

                    break;
                }

            default:
                throw new SignalFormatException($"Format {format} is not supported.");
        }

        return result;
    }
}
