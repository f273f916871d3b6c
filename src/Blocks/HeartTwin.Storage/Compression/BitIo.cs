using System.Buffers.Binary;
using System.Numerics;

namespace HeartTwin.Storage.Compression;

/// <summary>Writes bits MSB first into a growable buffer.</summary>
internal sealed class BitWriter
{
    private byte[] buffer;
    private int position;
    private ulong accumulator;
    private int pending;

    public BitWriter(int capacity) => buffer = new byte[Math.Max(capacity, 16)];

    /// <summary>Bytes written so far (whole bytes; call <see cref="AlignToByte"/> first).</summary>
    public int Length => position;

    /// <summary>Writes the low <paramref name="count"/> bits (0–32) of <paramref name="value"/>.</summary>
    public void Write(ulong value, int count)
    {
        // pending stays below 32 between calls, so pending + count fits the 64-bit accumulator.
        accumulator = (accumulator << count) | (value & ((1UL << count) - 1));
        pending += count;
        if (pending >= 32)
        {
            pending -= 32;
            EnsureCapacity(4);
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(position), (uint)(accumulator >> pending));
            position += 4;
        }
    }

    /// <summary>Writes up to 64 bits.</summary>
    public void WriteLong(ulong value, int count)
    {
        if (count > 32)
        {
            Write(value >> 32, count - 32);
            Write(value & 0xFFFF_FFFF, 32);
        }
        else
        {
            Write(value, count);
        }
    }

    /// <summary>Pads with zero bits to the next byte boundary and flushes.</summary>
    public void AlignToByte()
    {
        int pad = (8 - (pending & 7)) & 7;
        Write(0, pad);
        EnsureCapacity(4);
        while (pending > 0)
        {
            pending -= 8;
            buffer[position++] = (byte)(accumulator >> pending);
        }
    }

    /// <summary>Writes whole bytes (the writer must be byte-aligned).</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        AlignToByte();
        EnsureCapacity(bytes.Length);
        bytes.CopyTo(buffer.AsSpan(position));
        position += bytes.Length;
    }

    /// <summary>Writes an unsigned LEB128 varint (byte-aligned).</summary>
    public void WriteVarint(ulong value)
    {
        AlignToByte();
        EnsureCapacity(10);
        while (value >= 0x80)
        {
            buffer[position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[position++] = (byte)value;
    }

    /// <summary>The bytes written (after aligning).</summary>
    public Span<byte> WrittenSpan => buffer.AsSpan(0, position);

    /// <summary>Reserves room for <paramref name="bytes"/> more bytes.</summary>
    public void EnsureCapacity(int bytes)
    {
        if (position + bytes > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, position + bytes));
        }
    }
}

/// <summary>Reads bits MSB first; throws <see cref="SampleCodecException"/> past the end instead of inventing data.</summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> data;
    private int position;
    private ulong accumulator; // valid bits are left-aligned
    private int available;

    public BitReader(ReadOnlySpan<byte> data, int start)
    {
        this.data = data;
        position = start;
    }

    private void Refill()
    {
        while (available <= 56 && position < data.Length)
        {
            accumulator |= (ulong)data[position++] << (56 - available);
            available += 8;
        }
    }

    /// <summary>Reads <paramref name="count"/> bits (0–32).</summary>
    public uint Read(int count)
    {
        if (count == 0)
        {
            return 0;
        }

        if (available < count)
        {
            Refill();
            if (available < count)
            {
                throw SampleCodecException.Truncated();
            }
        }

        uint value = (uint)(accumulator >> (64 - count));
        accumulator <<= count;
        available -= count;
        return value;
    }

    /// <summary>Reads up to 64 bits.</summary>
    public ulong ReadLong(int count) => count > 32 ? ((ulong)Read(count - 32) << 32) | Read(32) : Read(count);

    /// <summary>Counts zero bits up to the next one bit (consumed); returns <paramref name="limit"/> without a terminator if that many zeros come first.</summary>
    public int ReadUnary(int limit)
    {
        if (available < 40)
        {
            Refill();
        }

        int zeros = BitOperations.LeadingZeroCount(accumulator);
        if (zeros < limit && zeros < available)
        {
            accumulator <<= zeros + 1;
            available -= zeros + 1;
            return zeros;
        }

        if (available < limit)
        {
            throw SampleCodecException.Truncated();
        }

        accumulator <<= limit;
        available -= limit;
        return limit;
    }

    /// <summary>Skips to the next byte boundary.</summary>
    public void AlignToByte() => Read(available & 7);

    /// <summary>Reads an unsigned LEB128 varint (the reader must be byte-aligned).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            uint b = Read(8);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new SampleCodecException("A varint in the sample chunk is too long: the blob is corrupt.");
    }
}

/// <summary>CRC-32 (IEEE 802.3, as zlib and PNG), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
