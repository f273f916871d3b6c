using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using HeartTwin.Signals.Arrays;

namespace HeartTwin.Signals.Tests.Arrays;

public class NpzWriterTests
{
    private static readonly long[] Shape324 = [3, 2, 4];
    private static readonly long[] Shape5 = [5];
    private static readonly long[] Shape06 = [0, 6];
    private static readonly long[] Scalar = [];
    private static readonly float[] SampleX = [0f, 1f, 2f, 3f, 4f, 5f];
    private static readonly long[] SampleY = [-1L, long.MaxValue];
    private static readonly int[] SampleN = [42];
    private static readonly string[] SampleRecords = ["100", "2XX-ü"];

    [Theory]
    [InlineData("<f4", "(3, 2, 4)")]
    [InlineData("<i8", "(5,)")]
    [InlineData("<f4", "(0, 6)")]
    [InlineData("<i4", "()")]
    public void The_header_is_byte_for_byte_what_numpy_writes(string descr, string shapeText)
    {
        long[] shape = shapeText switch { "(3, 2, 4)" => Shape324, "(5,)" => Shape5, "(0, 6)" => Shape06, _ => Scalar };

        var header = Npy.Header(descr, shape);

        // numpy 1.24: np.save gives a 128-byte header for each of these (118 bytes after the magic and length).
        header.Length.ShouldBe(128);
        header.AsSpan(0, 8).ToArray().ShouldBe(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8)).ShouldBe((ushort)118);
        var text = Encoding.Latin1.GetString(header, 10, 118);
        text.ShouldBe(("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }").PadRight(117) + "\n");
    }

    [Fact]
    public void A_long_shape_grows_the_header_by_whole_blocks_of_64_bytes()
    {
        long[] shape = [123_456_789_012, 2, 128, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];

        var header = Npy.Header("<f4", shape);

        (header.Length % 64).ShouldBe(0);
        header[^1].ShouldBe((byte)'\n');
        Encoding.Latin1.GetString(header, 10, header.Length - 10).ShouldStartWith("{'descr': '<f4', 'fortran_order': False, 'shape': (123456789012, 2, 128, 7,");
    }

    [Fact]
    public void Data_follows_the_header_little_endian()
    {
        using var ms = new MemoryStream();
        Npy.Write(ms, [1.5f, -2f], [2]);
        var bytes = ms.ToArray();
        bytes.Length.ShouldBe(128 + 8);
        BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(128)).ShouldBe(1.5f);
        BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(132)).ShouldBe(-2f);

        ms.SetLength(0);
        Npy.Write(ms, [long.MinValue, 7L], [2, 1]);
        bytes = ms.ToArray();
        BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(128)).ShouldBe(long.MinValue);
        BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(136)).ShouldBe(7L);

        ms.SetLength(0);
        Npy.Write(ms, [-3], Scalar);
        bytes = ms.ToArray();
        BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(128)).ShouldBe(-3);
    }

    [Fact]
    public void Strings_are_utf32_padded_with_zeros()
    {
        using var ms = new MemoryStream();
        Npy.WriteStrings(ms, ["ab", "é😀"], 4);
        var bytes = ms.ToArray();

        Encoding.Latin1.GetString(bytes, 10, 118).ShouldStartWith("{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }");
        bytes.Length.ShouldBe(128 + (2 * 4 * 4));
        var data = bytes.AsSpan(128);
        BinaryPrimitives.ReadInt32LittleEndian(data).ShouldBe('a');
        BinaryPrimitives.ReadInt32LittleEndian(data[4..]).ShouldBe('b');
        data.Slice(8, 8).ToArray().ShouldAllBe(b => b == 0);
        BinaryPrimitives.ReadInt32LittleEndian(data[16..]).ShouldBe(0xE9);
        BinaryPrimitives.ReadInt32LittleEndian(data[20..]).ShouldBe(0x1F600);
    }

    [Fact]
    public void An_npz_is_a_stored_zip_of_npy_entries_in_order_with_fixed_timestamps()
    {
        var bytes = Sample();

        using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        zip.Entries.Select(e => e.FullName).ShouldBe(["x.npy", "y.npy", "record.npy", "n.npy"]);
        foreach (var e in zip.Entries)
        {
            e.LastWriteTime.DateTime.ShouldBe(new DateTime(1980, 1, 1));
            e.CompressedLength.ShouldBe(e.Length);
        }

        // Local header of the first entry: compression method 0 (stored).
        BinaryPrimitives.ReadUInt32LittleEndian(bytes).ShouldBe(0x04034b50u);
        BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)).ShouldBe((ushort)0);

        using var x = zip.GetEntry("x.npy")!.Open();
        using var expected = new MemoryStream();
        Npy.Write(expected, SampleX, [2, 3]);
        using var actual = new MemoryStream();
        x.CopyTo(actual);
        actual.ToArray().ShouldBe(expected.ToArray());
    }

    [Fact]
    public void The_same_arrays_give_the_same_bytes()
    {
        var a = Sample();
        Thread.Sleep(1100); // a timestamp taken from the clock would differ
        Sample().ShouldBe(a);
    }

    [Fact]
    public void Bad_arrays_throw_argument_exceptions()
    {
        var w = new NpzWriter();
        Should.Throw<ArgumentException>(() => w.Add("x", new float[5], 2, 3));
        Should.Throw<ArgumentException>(() => w.Add("x", new long[1], -1));
        Should.Throw<ArgumentException>(() => w.AddStrings("r", ["toolong"], 3));
        Should.Throw<ArgumentException>(() => w.Add("a/b", new int[1], 1));
        Should.Throw<ArgumentException>(() => w.Add(" ", new int[1], 1));
        w.Add("x", new int[1], 1);
        Should.Throw<ArgumentException>(() => w.Add("x", new int[1], 1));
        using var ms = new MemoryStream();
        Should.Throw<ArgumentException>(() => Npy.WriteStrings(ms, ["a\0b"], 4));
    }

    [NumpyFact]
    public void Numpy_loads_the_npz_with_the_right_shapes_dtypes_and_values()
    {
        using var dir = TestData.NewTempDir();
        var path = Path.Combine(dir.Path, "t.npz");
        File.WriteAllBytes(path, Sample());

        var output = Numpy.Run(
            "import json, numpy as np\n" +
            $"d = np.load({Numpy.Quote(path)})\n" +
            "print(json.dumps({k: {'dtype': d[k].dtype.str, 'shape': list(d[k].shape), 'values': d[k].ravel().tolist()} for k in d.files}))\n");

        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["x", "y", "record", "n"]);
        root.GetProperty("x").GetProperty("dtype").GetString().ShouldBe("<f4");
        root.GetProperty("x").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ShouldBe([2, 3]);
        root.GetProperty("x").GetProperty("values").EnumerateArray().Select(e => e.GetSingle()).ShouldBe([0f, 1f, 2f, 3f, 4f, 5f]);
        root.GetProperty("y").GetProperty("dtype").GetString().ShouldBe("<i8");
        root.GetProperty("y").GetProperty("values").EnumerateArray().Select(e => e.GetInt64()).ShouldBe([-1L, long.MaxValue]);
        root.GetProperty("record").GetProperty("dtype").GetString().ShouldBe("<U16");
        root.GetProperty("record").GetProperty("values").EnumerateArray().Select(e => e.GetString()).ShouldBe(["100", "2XX-ü"]);
        root.GetProperty("n").GetProperty("dtype").GetString().ShouldBe("<i4");
        root.GetProperty("n").GetProperty("shape").GetArrayLength().ShouldBe(0);
        root.GetProperty("n").GetProperty("values").EnumerateArray().Single().GetInt32().ShouldBe(42);
    }

    [NumpyFact]
    public void Our_npy_bytes_equal_numpy_save()
    {
        using var dir = TestData.NewTempDir();
        var ours = Path.Combine(dir.Path, "ours.npy");
        var theirs = Path.Combine(dir.Path, "theirs.npy");
        using (var f = File.Create(ours))
        {
            Npy.Write(f, Enumerable.Range(0, 24).Select(i => i * 0.5f).ToArray(), Shape324);
        }

        Numpy.Run($"import numpy as np\nnp.save({Numpy.Quote(theirs)}, (np.arange(24, dtype='<f4') * 0.5).reshape(3, 2, 4))\n");

        File.ReadAllBytes(ours).ShouldBe(File.ReadAllBytes(theirs));
    }

    private static byte[] Sample()
    {
        var w = new NpzWriter()
            .Add("x", SampleX, 2, 3)
            .Add("y", SampleY, 2)
            .AddStrings("record", SampleRecords, 16)
            .Add("n", SampleN);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        return ms.ToArray();
    }
}

/// <summary>
/// A fact that is reported as skipped when /usr/bin/python3 with numpy is not available
/// (or when HEARTTWIN_NO_NUMPY=1, to check the skip).
/// </summary>
public sealed class NumpyFactAttribute : FactAttribute
{
    public NumpyFactAttribute()
    {
        if (!Numpy.Available)
        {
            Skip = "needs /usr/bin/python3 with numpy";
        }
    }
}

internal static class Numpy
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> IsAvailable = new(() =>
    {
        if (!File.Exists(Python) || Environment.GetEnvironmentVariable("HEARTTWIN_NO_NUMPY") == "1")
        {
            return false;
        }

        try
        {
            return Execute("import numpy").Code == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public static bool Available => IsAvailable.Value;

    public static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    public static string Run(string script)
    {
        var (code, stdout, stderr) = Execute(script);
        code.ShouldBe(0, stderr);
        return stdout;
    }

    private static (int Code, string Out, string Err) Execute(string script)
    {
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stderrTask = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderrTask.Result);
    }
}
