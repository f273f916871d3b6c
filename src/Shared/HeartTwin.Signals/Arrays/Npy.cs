using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace HeartTwin.Signals.Arrays;

/// <summary>
/// Writes NumPy <c>.npy</c> arrays (format 1.0, little-endian, C order) byte for byte as <c>numpy.save</c> does
/// (numpy 1.24: the header dict, room for the first axis to grow to 21 digits, spaces up to a multiple of 64 bytes, a newline).
/// </summary>
public static class Npy
{
    /// <summary>The dtype of 32-bit floats.</summary>
    public const string Float32Dtype = "<f4";

    /// <summary>The dtype of 64-bit integers.</summary>
    public const string Int64Dtype = "<i8";

    /// <summary>The dtype of 32-bit integers.</summary>
    public const string Int32Dtype = "<i4";

    /// <summary>Header alignment in bytes (numpy's ARRAY_ALIGN).</summary>
    public const int Alignment = 64;

    // numpy leaves room for the growth axis to reach this many digits, so the header can be rewritten in place.
    private const int GrowthAxisMaxDigits = 21;

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>The dtype string of fixed-width Unicode strings of <paramref name="width"/> code points (UTF-32).</summary>
    /// <param name="width">Width in code points, at least 1.</param>
    /// <returns>For example <c>&lt;U16</c>.</returns>
    public static string Unicode(int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        return string.Create(CultureInfo.InvariantCulture, $"<U{width}");
    }

    /// <summary>The header dict as numpy writes it, before padding: <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 2), }</c>.</summary>
    /// <param name="descr">The dtype string.</param>
    /// <param name="shape">The shape (empty for a scalar).</param>
    /// <returns>The dict text.</returns>
    public static string HeaderDict(string descr, ReadOnlySpan<long> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(descr);
        var sb = new StringBuilder("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(shape[i]);
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }

        if (shape.Length == 1)
        {
            sb.Append(',');
        }

        return sb.Append("), }").ToString();
    }

    /// <summary>The whole header: magic, version 1.0, length, dict, padding and newline; a multiple of <see cref="Alignment"/> bytes.</summary>
    /// <param name="descr">The dtype string.</param>
    /// <param name="shape">The shape (empty for a scalar).</param>
    /// <returns>The header bytes.</returns>
    /// <exception cref="ArgumentException">The header would exceed version 1.0's 65,535 bytes.</exception>
    public static byte[] Header(string descr, ReadOnlySpan<long> shape)
    {
        var dict = HeaderDict(descr, shape);
        if (shape.Length > 0)
        {
            dict += new string(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        }

        int textLength = Encoding.Latin1.GetByteCount(dict) + 1; // the newline
        int prefix = Magic.Length + 2;
        int pad = Alignment - ((prefix + textLength) % Alignment);
        int headerLength = textLength + pad;
        if (headerLength > ushort.MaxValue)
        {
            throw new ArgumentException($"The .npy header would be {headerLength} bytes, above format 1.0's limit.", nameof(shape));
        }

        var bytes = new byte[prefix + headerLength];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(Magic.Length), (ushort)headerLength);
        int at = prefix + Encoding.Latin1.GetBytes(dict, bytes.AsSpan(prefix));
        bytes.AsSpan(at, pad).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Writes a float32 array.</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <exception cref="ArgumentException">The shape does not match the data.</exception>
    public static void Write(Stream stream, ReadOnlySpan<float> data, ReadOnlySpan<long> shape) => WriteNumeric(stream, data, shape, Float32Dtype);

    /// <summary>Writes an int64 array.</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <exception cref="ArgumentException">The shape does not match the data.</exception>
    public static void Write(Stream stream, ReadOnlySpan<long> data, ReadOnlySpan<long> shape) => WriteNumeric(stream, data, shape, Int64Dtype);

    /// <summary>Writes an int32 array.</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <exception cref="ArgumentException">The shape does not match the data.</exception>
    public static void Write(Stream stream, ReadOnlySpan<int> data, ReadOnlySpan<long> shape) => WriteNumeric(stream, data, shape, Int32Dtype);

    /// <summary>
    /// Writes a one-dimensional array of fixed-width Unicode strings (<c>&lt;U{width}</c>): each string as UTF-32LE
    /// code points, padded with zeros to <paramref name="width"/>.
    /// </summary>
    /// <param name="stream">Destination.</param>
    /// <param name="values">The strings; none longer than <paramref name="width"/> code points, none with a NUL.</param>
    /// <param name="width">Width in code points, at least 1.</param>
    /// <exception cref="ArgumentException">A string is too long, contains NUL or is null.</exception>
    public static void WriteStrings(Stream stream, IReadOnlyList<string> values, int width)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(values);
        var descr = Unicode(width);
        var encoded = new byte[width * 4];
        long[] shape = [values.Count];
        stream.Write(Header(descr, shape));
        for (int i = 0; i < values.Count; i++)
        {
            var s = values[i] ?? throw new ArgumentException($"String {i} is null.", nameof(values));
            Array.Clear(encoded);
            int at = 0;
            foreach (var rune in s.EnumerateRunes())
            {
                if (rune.Value == 0)
                {
                    throw new ArgumentException($"String {i} contains NUL, which numpy would strip.", nameof(values));
                }

                if (at == encoded.Length)
                {
                    throw new ArgumentException($"String {i} ('{s}') is longer than {width} code points.", nameof(values));
                }

                BinaryPrimitives.WriteInt32LittleEndian(encoded.AsSpan(at), rune.Value);
                at += 4;
            }

            stream.Write(encoded);
        }
    }

    private static void WriteNumeric<T>(Stream stream, ReadOnlySpan<T> data, ReadOnlySpan<long> shape, string dtype)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckShape(data.Length, shape);
        stream.Write(Header(dtype, shape));
        var bytes = MemoryMarshal.AsBytes(data);
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(bytes);
            return;
        }

        // NumPy's '<' dtypes are little-endian: swap each element's bytes on a big-endian machine.
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        Span<byte> element = stackalloc byte[16];
        for (var k = 0; k < bytes.Length; k += size)
        {
            var e = element[..size];
            bytes.Slice(k, size).CopyTo(e);
            e.Reverse();
            stream.Write(e);
        }
    }

    internal static void CheckShape(int length, ReadOnlySpan<long> shape)
    {
        long product = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape dimensions must not be negative; got {d}.", nameof(shape));
            }

            product *= d;
        }

        if (product != length)
        {
            throw new ArgumentException($"The shape holds {product} elements but the data has {length}.", nameof(shape));
        }
    }
}
