using System.IO.Compression;

namespace HeartTwin.Signals.Arrays;

/// <summary>
/// Builds an uncompressed NumPy <c>.npz</c> (a zip of <c>.npy</c> arrays, readable with <c>numpy.load</c>) deterministically:
/// entries are stored (no compression) in the order they were added, each stamped 1980-01-01 00:00, so the same arrays
/// give the same bytes and the file's hash can identify a dataset.
/// </summary>
/// <remarks>The arrays are referenced, not copied, until <see cref="WriteTo"/>; do not change them in between.</remarks>
public sealed class NpzWriter
{
    /// <summary>The timestamp every entry carries (the earliest a zip can hold).</summary>
    public static readonly DateTimeOffset EntryTimestamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<(string Name, Action<Stream> Write)> _entries = [];

    /// <summary>Names of the arrays added so far, in order (without <c>.npy</c>).</summary>
    public IReadOnlyList<string> Names => _entries.Select(e => e.Name).ToList();

    /// <summary>Adds a float32 array.</summary>
    /// <param name="name">Array name (the key in numpy), unique, without <c>.npy</c>.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A bad or duplicate name, or the shape does not match.</exception>
    public NpzWriter Add(string name, float[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        Npy.CheckShape(data.Length, shape);
        return AddEntry(name, s => Npy.Write(s, data, shape));
    }

    /// <summary>Adds an int64 array.</summary>
    /// <param name="name">Array name (the key in numpy), unique, without <c>.npy</c>.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A bad or duplicate name, or the shape does not match.</exception>
    public NpzWriter Add(string name, long[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        Npy.CheckShape(data.Length, shape);
        return AddEntry(name, s => Npy.Write(s, data, shape));
    }

    /// <summary>Adds an int32 array.</summary>
    /// <param name="name">Array name (the key in numpy), unique, without <c>.npy</c>.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Shape; its product must equal the element count.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A bad or duplicate name, or the shape does not match.</exception>
    public NpzWriter Add(string name, int[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        Npy.CheckShape(data.Length, shape);
        return AddEntry(name, s => Npy.Write(s, data, shape));
    }

    /// <summary>Adds a one-dimensional array of fixed-width strings (<c>&lt;U{width}</c>).</summary>
    /// <param name="name">Array name (the key in numpy), unique, without <c>.npy</c>.</param>
    /// <param name="values">The strings, none longer than <paramref name="width"/> code points.</param>
    /// <param name="width">Width in code points.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A bad or duplicate name, or a string that does not fit.</exception>
    public NpzWriter AddStrings(string name, IReadOnlyList<string> values, int width)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        foreach (var v in values)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(values));
            if (v.EnumerateRunes().Count() > width)
            {
                throw new ArgumentException($"'{v}' is longer than {width} code points.", nameof(values));
            }
        }

        return AddEntry(name, s => Npy.WriteStrings(s, values, width));
    }

    /// <summary>Writes the archive to <paramref name="stream"/> (left open).</summary>
    /// <param name="stream">A writable stream; seekable streams give the same bytes every time.</param>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, write) in _entries)
        {
            var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = EntryTimestamp;
            using var s = entry.Open();
            write(s);
        }
    }

    /// <summary>Writes the archive to a file, replacing it.</summary>
    /// <param name="path">File path.</param>
    public void Save(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        WriteTo(file);
    }

    private NpzWriter AddEntry(string name, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.IndexOfAny(['/', '\\', '\0']) >= 0)
        {
            throw new ArgumentException($"Array name '{name}' must not contain a slash or NUL.", nameof(name));
        }

        if (_entries.Any(e => e.Name == name))
        {
            throw new ArgumentException($"An array named '{name}' was already added.", nameof(name));
        }

        _entries.Add((name, write));
        return this;
    }
}
