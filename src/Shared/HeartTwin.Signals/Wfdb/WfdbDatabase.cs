namespace HeartTwin.Signals.Wfdb;

/// <summary>A folder of WFDB records, listed by its <c>RECORDS</c> file.</summary>
public sealed class WfdbDatabase
{
    private WfdbDatabase(string directory, IReadOnlyList<string> records)
    {
        Directory = directory;
        Records = records;
    }

    /// <summary>The database folder.</summary>
    public string Directory { get; }

    /// <summary>The database's short name: its folder's name (for example <c>mitdb</c>).</summary>
    public string Name => new DirectoryInfo(Directory).Name;

    /// <summary>Record names in RECORDS order.</summary>
    public IReadOnlyList<string> Records { get; }

    /// <summary>
    /// Opens <paramref name="directory"/>. Records come from its RECORDS file, or, when there is none,
    /// from the headers in the folder.
    /// </summary>
    /// <exception cref="SignalFormatException">The folder does not exist or holds no records.</exception>
    public static WfdbDatabase Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new SignalFormatException($"{directory}: database folder not found.");
        }

        var recordsFile = Path.Combine(directory, "RECORDS");
        List<string> records;
        if (File.Exists(recordsFile))
        {
            records = File.ReadAllLines(recordsFile)
                .Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .ToList();
        }
        else
        {
            records = System.IO.Directory.EnumerateFiles(directory, "*.hea")
                .Select(Path.GetFileNameWithoutExtension)
                .OfType<string>()
                .Order(StringComparer.Ordinal)
                .ToList();
        }

        if (records.Count == 0)
        {
            throw new SignalFormatException($"{directory}: no records (no RECORDS file and no .hea headers).");
        }

        return new WfdbDatabase(directory, records);
    }

    /// <summary>Reads one record of this database.</summary>
    public WfdbRecord ReadRecord(string record, bool verifyChecksums = true) => WfdbRecord.Read(Directory, record, verifyChecksums);

    /// <summary>Reads one annotator's file for a record.</summary>
    public IReadOnlyList<Annotation> ReadAnnotations(string record, string annotator = "atr") => AnnotationFile.Read(Directory, record, annotator);
}
