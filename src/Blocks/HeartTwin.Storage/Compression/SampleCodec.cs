using System.Buffers.Binary;
using System.Numerics;

namespace HeartTwin.Storage.Compression;

/// <summary>
/// Lossless codec for integer sample chunks ("HTC1"), in the manner of FLAC and Shorten: per lead and per block a linear
/// predictor (a fixed polynomial of order 0–4, or a quantised LPC on the first difference) and Rice-coded residuals with a
/// parameter per partition. Bit-exact for any <see cref="int"/> input: residuals are computed in 64 bits and very large ones
/// take an escape. Layout:
/// <code>
/// "HTC1" | varint leads | varint samplesPerLead | varint blockSize | per lead: first sample, then blocks | CRC-32 (LE) of all before
/// </code>
/// A block is: kind (3 bits: 0–4 fixed order, 5 difference-LPC) [LPC: order−1 (4), precision−1 (4), shift (5), coefficients],
/// all-zero flag (1) [else partition order (4), then per partition Rice k (5) and its residuals].
/// </summary>
public static class SampleCodec
{
    /// <summary>Default samples per predictor block (about 11 s at 360 Hz; measured best of 256–4096 on MIT-BIH); a 1-second chunk is a single block.</summary>
    public const int DefaultBlockSize = 4096;

    private const int MaxLpcOrder = 12;
    private const int LpcPrecision = 14;
    private const int EscapeZeros = 24;
    private const int KindLpc = 5;
    private static ReadOnlySpan<byte> Magic => "HTC1"u8;

    /// <summary>Encodes leads of equal length (zero leads or zero samples are allowed).</summary>
    /// <param name="leads">One array of samples per lead.</param>
    /// <param name="blockSize">Samples per predictor block, 16–65,536.</param>
    /// <exception cref="ArgumentException">Leads of different lengths, or a block size out of range.</exception>
    public static byte[] Encode(IReadOnlyList<int[]> leads, int blockSize = DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(leads);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, 65_536);
        int length = leads.Count == 0 ? 0 : leads[0].Length;
        foreach (var lead in leads)
        {
            ArgumentNullException.ThrowIfNull(lead, nameof(leads));
            if (lead.Length != length)
            {
                throw new ArgumentException("Every lead of a chunk must have the same number of samples.", nameof(leads));
            }
        }

        var writer = new BitWriter(16 + (leads.Count * length) + (leads.Count * 8));
        writer.WriteBytes(Magic);
        writer.WriteVarint((ulong)leads.Count);
        writer.WriteVarint((ulong)length);
        writer.WriteVarint((ulong)blockSize);
        var scratch = new Scratch(Math.Min(blockSize, Math.Max(length, 1)));
        foreach (var lead in leads)
        {
            EncodeLead(lead, blockSize, writer, scratch);
        }

        writer.AlignToByte();
        uint crc = Crc32.Compute(writer.WrittenSpan);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, crc);
        writer.WriteBytes(tail);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a chunk; the CRC and every length are checked first.</summary>
    /// <exception cref="SampleCodecException">The blob is truncated, corrupt, or not an HTC1 chunk.</exception>
    public static int[][] Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < Magic.Length + 3 + 4 || !blob.StartsWith(Magic))
        {
            throw new SampleCodecException("The blob is not an HTC1 sample chunk (wrong magic or too short).");
        }

        var body = blob[..^4];
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(blob[^4..]);
        if (Crc32.Compute(body) != stored)
        {
            throw new SampleCodecException("The sample chunk's CRC does not match: the blob is corrupt or truncated.");
        }

        var reader = new BitReader(body, Magic.Length);
        ulong leadCount = reader.ReadVarint();
        ulong length = reader.ReadVarint();
        ulong blockSize = reader.ReadVarint();
        if (leadCount > 4096 || length > int.MaxValue || leadCount * length > 1UL << 30 || blockSize is < 16 or > 65_536)
        {
            throw new SampleCodecException("The sample chunk's header declares impossible sizes: the blob is corrupt.");
        }

        var leads = new int[(int)leadCount][];
        var scratch = new long[Math.Min((int)blockSize, Math.Max((int)length, 1))];
        for (int i = 0; i < leads.Length; i++)
        {
            leads[i] = new int[(int)length];
            DecodeLead(leads[i], (int)blockSize, scratch, ref reader);
        }

        return leads;
    }

    /// <summary>Number of leads and samples per lead in a chunk, from its header (no CRC check, no decoding).</summary>
    /// <exception cref="SampleCodecException">The header is unreadable.</exception>
    public static (int Leads, int SamplesPerLead) ReadShape(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < Magic.Length + 3 + 4 || !blob.StartsWith(Magic))
        {
            throw new SampleCodecException("The blob is not an HTC1 sample chunk (wrong magic or too short).");
        }

        var reader = new BitReader(blob, Magic.Length);
        ulong leads = reader.ReadVarint();
        ulong length = reader.ReadVarint();
        return leads > 4096 || length > int.MaxValue
            ? throw new SampleCodecException("The sample chunk's header declares impossible sizes: the blob is corrupt.")
            : ((int)leads, (int)length);
    }

    // ---------------------------------------------------------------- encoder

    private sealed class Scratch(int size)
    {
        public long[] Residuals = new long[size];
        public ulong[] Folded = new ulong[size];
        public long[] Best = new long[size];
        public double[] Windowed = new double[size];
        public int[] Coefficients = new int[MaxLpcOrder];
        public int[] BestCoefficients = new int[MaxLpcOrder];
        public ulong[] PartitionSums = new ulong[1 << 8];
        public int[] PartitionK = new int[1 << 8];

        public void Ensure(int n)
        {
            if (Residuals.Length < n)
            {
                Residuals = new long[n];
                Folded = new ulong[n];
                Best = new long[n];
                Windowed = new double[n];
            }
        }
    }

    private static void EncodeLead(ReadOnlySpan<int> x, int blockSize, BitWriter writer, Scratch scratch)
    {
        if (x.Length == 0)
        {
            return;
        }

        WriteEscaped(writer, Fold(x[0]));
        for (int start = 0; start < x.Length; start += blockSize)
        {
            int end = Math.Min(x.Length, start + blockSize);
            int first = Math.Max(start, 1);
            if (first < end)
            {
                EncodeBlock(x, first, end, writer, scratch);
            }
        }
    }

    private static void EncodeBlock(ReadOnlySpan<int> x, int first, int end, BitWriter writer, Scratch scratch)
    {
        int n = end - first;
        scratch.Ensure(n);
        var residuals = scratch.Residuals.AsSpan(0, n);
        var best = scratch.Best.AsSpan(0, n);

        // Fixed polynomial predictors (FLAC's), the cheapest by sum of absolute residuals.
        int bestKind = 0, bestOrder = 0;
        double bestCost = double.MaxValue;
        for (int order = 0; order <= 4; order++)
        {
            double cost = EstimatedBits(FixedResiduals(x, first, end, order, residuals), n);
            if (cost < bestCost)
            {
                bestCost = cost;
                bestKind = order;
                residuals.CopyTo(best);
            }
        }

        // Quantised LPC on the first difference (a DC-free predictor, since ECG rides on a baseline). Levinson's prediction
        // error estimates each order's size; only the two most promising orders are tried for real.
        int shift = 0;
        if (n >= 32)
        {
            Span<double> lpc = stackalloc double[MaxLpcOrder * MaxLpcOrder];
            Span<double> errors = stackalloc double[MaxLpcOrder + 1];
            int maxOrder = ComputeLpc(x, first, end, scratch.Windowed, lpc, errors);
            int bestGuess = 0, secondGuess = 0;
            double bestEstimate = double.MaxValue, secondEstimate = double.MaxValue;
            for (int order = 1; order <= maxOrder; order++)
            {
                double estimate = (0.5 * n * Math.Log2(Math.Max(errors[order], 1e-9) / n)) + (order * LpcPrecision);
                if (estimate < bestEstimate)
                {
                    (secondGuess, secondEstimate) = (bestGuess, bestEstimate);
                    (bestGuess, bestEstimate) = (order, estimate);
                }
                else if (estimate < secondEstimate)
                {
                    (secondGuess, secondEstimate) = (order, estimate);
                }
            }

            foreach (int order in (ReadOnlySpan<int>)[bestGuess, secondGuess])
            {
                if (order == 0)
                {
                    continue;
                }

                int s = Quantise(lpc.Slice((order - 1) * MaxLpcOrder, order), scratch.Coefficients.AsSpan(0, order));
                double cost = EstimatedBits(LpcResiduals(x, first, end, scratch.Coefficients.AsSpan(0, order), s, residuals), n)
                    + (order * LpcPrecision) + 13;
                if (cost < bestCost)
                {
                    bestCost = cost;
                    bestKind = KindLpc;
                    bestOrder = order;
                    shift = s;
                    scratch.Coefficients.AsSpan(0, order).CopyTo(scratch.BestCoefficients);
                    residuals.CopyTo(best);
                }
            }
        }

        writer.Write((ulong)bestKind, 3);
        if (bestKind == KindLpc)
        {
            writer.Write((ulong)(bestOrder - 1), 4);
            writer.Write(LpcPrecision - 1, 4);
            writer.Write((ulong)shift, 5);
            for (int j = 0; j < bestOrder; j++)
            {
                writer.Write((ulong)(uint)scratch.BestCoefficients[j], LpcPrecision);
            }
        }

        WriteResiduals(best, writer, scratch);
    }

    /// <summary>Rice-coded size of n residuals whose absolute values sum to <paramref name="sumAbs"/>: about log2 of the mean plus two bits each.</summary>
    private static double EstimatedBits(ulong sumAbs, int n) => n * (Math.Log2(((double)sumAbs / n) + 1) + 2);

    private static ulong FixedResiduals(ReadOnlySpan<int> x, int first, int end, int order, Span<long> residuals)
    {
        ulong total = 0;
        int i = first;
        for (; i < end && i < order; i++)
        {
            long r = x[i] - FixedPrediction(x, i, i);
            residuals[i - first] = r;
            total += (ulong)Math.Abs(r);
        }

        switch (order)
        {
            case 0:
                for (; i < end; i++) { long r = x[i]; residuals[i - first] = r; total += (ulong)Math.Abs(r); }
                break;
            case 1:
                for (; i < end; i++) { long r = (long)x[i] - x[i - 1]; residuals[i - first] = r; total += (ulong)Math.Abs(r); }
                break;
            case 2:
                for (; i < end; i++) { long r = x[i] - ((2L * x[i - 1]) - x[i - 2]); residuals[i - first] = r; total += (ulong)Math.Abs(r); }
                break;
            case 3:
                for (; i < end; i++) { long r = x[i] - ((3L * x[i - 1]) - (3L * x[i - 2]) + x[i - 3]); residuals[i - first] = r; total += (ulong)Math.Abs(r); }
                break;
            default:
                for (; i < end; i++) { long r = x[i] - ((4L * x[i - 1]) - (6L * x[i - 2]) + (4L * x[i - 3]) - x[i - 4]); residuals[i - first] = r; total += (ulong)Math.Abs(r); }
                break;
        }

        return total;
    }

    private static long FixedPrediction(ReadOnlySpan<int> x, int i, int order) => order switch
    {
        0 => 0,
        1 => x[i - 1],
        2 => (2L * x[i - 1]) - x[i - 2],
        3 => (3L * x[i - 1]) - (3L * x[i - 2]) + x[i - 3],
        _ => (4L * x[i - 1]) - (6L * x[i - 2]) + (4L * x[i - 3]) - x[i - 4],
    };

    /// <summary>Levinson–Durbin on the Welch-windowed first difference; fills row m−1 of <paramref name="lpc"/> with order m's coefficients.</summary>
    private static int ComputeLpc(ReadOnlySpan<int> x, int first, int end, double[] windowed, Span<double> lpc, Span<double> errors)
    {
        int start = Math.Max(first, 1);
        int n = end - start;
        if (n < 32)
        {
            return 0;
        }

        double half = (n - 1) / 2.0;
        for (int i = 0; i < n; i++)
        {
            double w = 1 - Math.Pow((i - half) / (half + 1), 2);
            windowed[i] = w * ((double)x[start + i] - x[start + i - 1]);
        }

        int maxOrder = Math.Min(MaxLpcOrder, n / 4);
        Span<double> r = stackalloc double[MaxLpcOrder + 1];
        var d = windowed.AsSpan(0, n);
        for (int lag = 0; lag <= maxOrder; lag++)
        {
            double sum = 0;
            for (int i = lag; i < n; i++)
            {
                sum += d[i] * d[i - lag];
            }

            r[lag] = sum;
        }

        if (r[0] <= 0)
        {
            return 0;
        }

        r[0] *= 1 + 1e-9; // a whisker of white noise keeps the recursion stable on degenerate blocks
        Span<double> a = stackalloc double[MaxLpcOrder + 1];
        Span<double> previous = stackalloc double[MaxLpcOrder + 1];
        double error = r[0];
        for (int m = 1; m <= maxOrder; m++)
        {
            double acc = r[m];
            for (int j = 1; j < m; j++)
            {
                acc -= a[j] * r[m - j];
            }

            double k = acc / error;
            a.CopyTo(previous);
            a[m] = k;
            for (int j = 1; j < m; j++)
            {
                a[j] = previous[j] - (k * previous[m - j]);
            }

            error *= 1 - (k * k);
            errors[m] = error;
            for (int j = 0; j < m; j++)
            {
                lpc[((m - 1) * MaxLpcOrder) + j] = a[j + 1];
            }

            if (error <= 0)
            {
                return m;
            }
        }

        return maxOrder;
    }

    /// <summary>Quantises coefficients to <see cref="LpcPrecision"/> signed bits with error feedback; returns the shift.</summary>
    private static int Quantise(ReadOnlySpan<double> coefficients, Span<int> quantised)
    {
        double max = 0;
        foreach (double c in coefficients)
        {
            max = Math.Max(max, Math.Abs(c));
        }

        int limit = (1 << (LpcPrecision - 1)) - 1;
        int shift = max <= 0 ? 0 : Math.Clamp(LpcPrecision - 2 - (int)Math.Floor(Math.Log2(max)), 0, 31);
        double carry = 0;
        for (int j = 0; j < coefficients.Length; j++)
        {
            double scaled = (coefficients[j] * (1L << shift)) + carry;
            int q = (int)Math.Clamp(Math.Round(scaled), -limit - 1, limit);
            carry = scaled - q;
            quantised[j] = q;
        }

        return shift;
    }

    /// <summary>Residuals of the difference-LPC; samples without enough history fall back to the fixed order-2 predictor.</summary>
    private static ulong LpcResiduals(ReadOnlySpan<int> x, int first, int end, ReadOnlySpan<int> coefficients, int shift, Span<long> residuals)
    {
        int order = coefficients.Length;
        ulong total = 0;
        int i = first;
        for (; i < end && i <= order; i++)
        {
            long r = x[i] - LpcPrediction(x, i, coefficients, shift);
            residuals[i - first] = r;
            total += (ulong)Math.Abs(r);
        }

        for (; i < end; i++)
        {
            long sum = 0;
            for (int j = 0; j < order; j++)
            {
                sum += coefficients[j] * ((long)x[i - 1 - j] - x[i - 2 - j]);
            }

            long r = x[i] - (x[i - 1] + (sum >> shift));
            residuals[i - first] = r;
            total += (ulong)Math.Abs(r);
        }

        return total;
    }

    private static long LpcPrediction(ReadOnlySpan<int> x, int i, ReadOnlySpan<int> coefficients, int shift)
    {
        int order = coefficients.Length;
        if (i <= order)
        {
            return FixedPrediction(x, i, Math.Min(i, 2));
        }

        long sum = 0;
        for (int j = 0; j < order; j++)
        {
            sum += coefficients[j] * ((long)x[i - 1 - j] - x[i - 2 - j]);
        }

        return x[i - 1] + (sum >> shift);
    }

    private static void WriteResiduals(ReadOnlySpan<long> residuals, BitWriter writer, Scratch scratch)
    {
        int n = residuals.Length;
        var folded = scratch.Folded.AsSpan(0, n);
        bool allZero = true;
        for (int i = 0; i < n; i++)
        {
            folded[i] = Fold(residuals[i]);
            allZero &= folded[i] == 0;
        }

        writer.Write(allZero ? 1UL : 0UL, 1);
        if (allZero)
        {
            return;
        }

        // Finest partition sums first; each coarser order merges pairs (boundaries are (i·n) >> p, so they nest).
        int maxOrder = 0;
        while (maxOrder < 8 && (n >> (maxOrder + 1)) >= 16)
        {
            maxOrder++;
        }

        var sums = scratch.PartitionSums;
        int parts = 1 << maxOrder;
        for (int p = 0; p < parts; p++)
        {
            int from = (int)(((long)p * n) >> maxOrder), to = (int)(((long)(p + 1) * n) >> maxOrder);
            ulong s = 0;
            for (int i = from; i < to; i++)
            {
                s += Math.Min(folded[i], 1UL << 40); // escaped values cost about the same whatever their size
            }

            sums[p] = s;
        }

        int bestOrder = 0;
        ulong bestBits = ulong.MaxValue;
        Span<ulong> level = stackalloc ulong[1 << 8];
        sums.AsSpan(0, parts).CopyTo(level);
        for (int order = maxOrder; order >= 0; order--)
        {
            int count = 1 << order;
            ulong bits = 0;
            for (int p = 0; p < count; p++)
            {
                int size = (int)((((long)(p + 1) * n) >> order) - (((long)p * n) >> order));
                bits += 5 + RiceBits(level[p], size, out _);
            }

            if (bits <= bestBits)
            {
                bestBits = bits;
                bestOrder = order;
            }

            for (int p = 0; p < count / 2; p++)
            {
                level[p] = level[2 * p] + level[(2 * p) + 1];
            }
        }

        writer.Write((ulong)bestOrder, 4);
        int partitions = 1 << bestOrder;
        for (int p = 0; p < partitions; p++)
        {
            int from = (int)(((long)p * n) >> bestOrder), to = (int)(((long)(p + 1) * n) >> bestOrder);
            ulong s = 0;
            for (int i = from; i < to; i++)
            {
                s += Math.Min(folded[i], 1UL << 40);
            }

            RiceBits(s, to - from, out int k);
            writer.Write((ulong)k, 5);
            for (int i = from; i < to; i++)
            {
                WriteRice(writer, folded[i], k);
            }
        }
    }

    /// <summary>Estimated bits of a partition with the best Rice parameter near log2 of its mean.</summary>
    private static ulong RiceBits(ulong sum, int count, out int bestK)
    {
        bestK = 0;
        if (count == 0)
        {
            return 0;
        }

        ulong mean = sum / (ulong)count;
        int guess = mean == 0 ? 0 : BitOperations.Log2(mean);
        ulong best = ulong.MaxValue;
        for (int k = Math.Max(0, guess - 1); k <= Math.Min(31, guess + 1); k++)
        {
            ulong bits = ((ulong)count * (ulong)(k + 1)) + (sum >> k);
            if (bits < best)
            {
                best = bits;
                bestK = k;
            }
        }

        return best;
    }

    private static void WriteRice(BitWriter writer, ulong value, int k)
    {
        ulong quotient = value >> k;
        if (quotient < EscapeZeros)
        {
            int unary = (int)quotient + 1;
            if (unary + k <= 32)
            {
                writer.Write((1UL << k) | (value & ((1UL << k) - 1)), unary + k);
            }
            else
            {
                writer.Write(1, unary);
                writer.Write(value & ((1UL << k) - 1), k);
            }
        }
        else
        {
            writer.Write(0, EscapeZeros);
            WriteEscaped(writer, value);
        }
    }

    /// <summary>An unsigned value as a 7-bit length and that many bits.</summary>
    private static void WriteEscaped(BitWriter writer, ulong value)
    {
        int bits = value == 0 ? 0 : 64 - BitOperations.LeadingZeroCount(value);
        writer.Write((ulong)bits, 7);
        writer.WriteLong(value, bits);
    }

    private static ulong ReadEscaped(ref BitReader reader)
    {
        int bits = (int)reader.Read(7);
        return bits > 64 ? throw new SampleCodecException("An escaped value in the sample chunk is longer than 64 bits: the blob is corrupt.") : reader.ReadLong(bits);
    }

    private static ulong Fold(long v) => (ulong)((v << 1) ^ (v >> 63));

    private static long Unfold(ulong u) => (long)(u >> 1) ^ -(long)(u & 1);

    // ---------------------------------------------------------------- decoder

    private static void DecodeLead(Span<int> x, int blockSize, long[] scratch, ref BitReader reader)
    {
        if (x.Length == 0)
        {
            return;
        }

        x[0] = ToSample(Unfold(ReadEscaped(ref reader)));
        Span<int> coefficients = stackalloc int[16];
        for (int start = 0; start < x.Length; start += blockSize)
        {
            int end = Math.Min(x.Length, start + blockSize);
            int first = Math.Max(start, 1);
            if (first >= end)
            {
                continue;
            }

            int kind = (int)reader.Read(3);
            int order = 0, shift = 0;
            if (kind == KindLpc)
            {
                order = (int)reader.Read(4) + 1;
                int precision = (int)reader.Read(4) + 1;
                shift = (int)reader.Read(5);
                for (int j = 0; j < order; j++)
                {
                    // sign-extend a precision-bit two's complement value
                    coefficients[j] = (int)(reader.Read(precision) << (32 - precision)) >> (32 - precision);
                }
            }
            else if (kind > 4)
            {
                throw new SampleCodecException($"Unknown predictor kind {kind} in the sample chunk: the blob is corrupt.");
            }

            int n = end - first;
            var residuals = scratch.AsSpan(0, n);
            if (reader.Read(1) == 1)
            {
                residuals.Clear();
            }
            else
            {
                ReadResiduals(ref reader, residuals);
            }

            Reconstruct(x, first, end, kind, coefficients[..order], shift, residuals);
        }
    }

    private static void ReadResiduals(ref BitReader reader, Span<long> residuals)
    {
        int n = residuals.Length;
        int partitionOrder = (int)reader.Read(4);
        if ((1 << partitionOrder) > n)
        {
            throw new SampleCodecException("The sample chunk declares more partitions than samples: the blob is corrupt.");
        }

        for (int p = 0; p < 1 << partitionOrder; p++)
        {
            int from = (int)(((long)p * n) >> partitionOrder), to = (int)(((long)(p + 1) * n) >> partitionOrder);
            int k = (int)reader.Read(5);
            for (int i = from; i < to; i++)
            {
                int quotient = reader.ReadUnary(EscapeZeros);
                ulong folded = quotient < EscapeZeros ? ((ulong)quotient << k) | reader.Read(k) : ReadEscaped(ref reader);
                residuals[i] = Unfold(folded);
            }
        }
    }

    private static void Reconstruct(Span<int> x, int first, int end, int kind, ReadOnlySpan<int> coefficients, int shift, ReadOnlySpan<long> residuals)
    {
        // Samples without full history take the general path; the rest the predictor's own loop.
        int warm = kind == KindLpc ? coefficients.Length + 1 : kind;
        int i = first;
        for (; i < end && i < warm; i++)
        {
            x[i] = ToSample(residuals[i - first] + Predict(x, i, kind, coefficients, shift));
        }

        switch (kind)
        {
            case 0:
                for (; i < end; i++) { x[i] = ToSample(residuals[i - first]); }
                break;
            case 1:
                for (; i < end; i++) { x[i] = ToSample(residuals[i - first] + x[i - 1]); }
                break;
            case 2:
                for (; i < end; i++) { x[i] = ToSample(residuals[i - first] + (2L * x[i - 1]) - x[i - 2]); }
                break;
            case 3:
                for (; i < end; i++) { x[i] = ToSample(residuals[i - first] + (3L * x[i - 1]) - (3L * x[i - 2]) + x[i - 3]); }
                break;
            case 4:
                for (; i < end; i++) { x[i] = ToSample(residuals[i - first] + (4L * x[i - 1]) - (6L * x[i - 2]) + (4L * x[i - 3]) - x[i - 4]); }
                break;
            default:
                int order = coefficients.Length;
                for (; i < end; i++)
                {
                    long sum = 0;
                    for (int j = 0; j < order; j++)
                    {
                        sum += coefficients[j] * ((long)x[i - 1 - j] - x[i - 2 - j]);
                    }

                    x[i] = ToSample(residuals[i - first] + x[i - 1] + (sum >> shift));
                }

                break;
        }
    }

    private static long Predict(ReadOnlySpan<int> x, int i, int kind, ReadOnlySpan<int> coefficients, int shift) =>
        kind == KindLpc ? LpcPrediction(x, i, coefficients, shift) : FixedPrediction(x, i, Math.Min(kind, i));

    private static int ToSample(long value) =>
        value is < int.MinValue or > int.MaxValue
            ? throw new SampleCodecException("A decoded sample falls outside 32 bits: the blob is corrupt.")
            : (int)value;
}
