using System.CommandLine;
using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>A record's ECG leads in millivolts, as the evaluator reads them.</summary>
internal sealed record EcgSignals(WfdbHeader Header, List<float[]> Leads, double SampleRateHz, long Length);

/// <summary>How the evaluators read records (<c>--resample</c>, <c>--reference</c>, <c>--invert-leads</c>).</summary>
/// <param name="ResampleHz">The rate to resample every record to; null for each record's own.</param>
/// <param name="Reference">The annotator holding the reference (R.name); null for <c>atr</c>.</param>
/// <param name="InvertLeads">Read every ECG lead with its polarity inverted.</param>
internal sealed record ReadSettings(double? ResampleHz = null, string? Reference = null, bool InvertLeads = false);

/// <summary>The options every <c>eval</c> command takes to say how records are read, defined once.</summary>
internal sealed class ReadOptions
{
    public Option<double?> Resample { get; } = new("--resample")
    {
        Description = "Resample every record to this rate (Hz) before detection, as a device at that rate would record it; the reference annotations are scaled to it.",
    };

    public Option<string> Reference { get; } = new("--reference")
    {
        Description = "The annotator of the reference annotations (files R.<name>), for example qrs in the MIT-BIH AF Database.",
        DefaultValueFactory = _ => RecordReader.DefaultAnnotator,
    };

    public Option<bool> InvertLeads { get; } = new("--invert-leads")
    {
        Description = "Read every ECG lead with its polarity inverted, as a lead pointing the other way (or swapped electrodes) would record it.",
    };

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Resample);
        command.Options.Add(Reference);
        command.Options.Add(InvertLeads);
    }

    /// <summary>The values given on the command line.</summary>
    public ReadSettings Get(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return new ReadSettings(parse.GetValue(Resample), parse.GetValue(Reference), parse.GetValue(InvertLeads));
    }
}

/// <summary>
/// Reads a database's records for the evaluators: as recorded, or as another device would have recorded them. The
/// product is measured on databases other than MIT-BIH, so every evaluator can show what a change does to the same
/// records: another rate (<c>--resample</c>, as a device sampling at that rate), the other polarity (<c>--invert-leads</c>),
/// and the reference from the annotator the database keeps it in (<c>--reference</c>: <c>atr</c> in MIT-BIH; the AF
/// Database keeps its beats in <c>qrs</c> and only rhythm in <c>atr</c>).
/// </summary>
/// <remarks>
/// Resampling is band-limited (<see cref="RationalResampler"/>, delay removed), so a lead keeps its waveform up to the new
/// Nyquist frequency. Reference annotations keep their times: each sample index is scaled to the new rate and rounded.
/// </remarks>
internal sealed class RecordReader
{
    /// <summary>The rates a resampled copy may have: the QRS detector's range.</summary>
    public const double MinRateHz = 50;

    /// <inheritdoc cref="MinRateHz"/>
    public const double MaxRateHz = 2000;

    /// <summary>The reference annotator when none is named: MIT-BIH's audited beat and rhythm annotations.</summary>
    public const string DefaultAnnotator = "atr";

    /// <summary>Creates a reader; null settings read every record as recorded, with the <c>atr</c> reference.</summary>
    /// <exception cref="UsageException">The rate is outside 50–2000 Hz, or the annotator is not a plain name.</exception>
    public RecordReader(WfdbDatabase database, ReadSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        settings ??= new ReadSettings();
        if (settings.ResampleHz is { } r && !(r >= MinRateHz && r <= MaxRateHz))
        {
            throw new UsageException($"--resample must be a rate from {MinRateHz} to {MaxRateHz} Hz; got {r}.");
        }

        var annotator = settings.Reference ?? DefaultAnnotator;
        if (annotator.Length == 0 || !annotator.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            // It becomes a file name's extension (R.annotator), so nothing that could leave the database folder.
            throw new UsageException($"--reference must be an annotator name such as atr or qrs (letters, digits, _ or -); got '{annotator}'.");
        }

        Database = database;
        RateHz = settings.ResampleHz;
        Annotator = annotator;
        InvertLeads = settings.InvertLeads;
    }

    /// <summary>The database read.</summary>
    public WfdbDatabase Database { get; }

    /// <summary>The rate every record is resampled to, or null for each record's own.</summary>
    public double? RateHz { get; }

    /// <summary>The annotator whose file (R.annotator) holds the reference.</summary>
    public string Annotator { get; }

    /// <summary>Whether every ECG lead is read with its polarity inverted.</summary>
    public bool InvertLeads { get; }

    /// <summary>Reads a record's ECG leads (mV) as the reader's settings say.</summary>
    public EcgSignals ReadSignals(string name)
    {
        var record = Database.ReadRecord(name);
        var leads = EcgLeads.ReadMillivolts(record);
        var fs = record.SamplingFrequencyHz;
        if (InvertLeads)
        {
            foreach (var lead in leads)
            {
                for (var i = 0; i < lead.Length; i++)
                {
                    lead[i] = -lead[i];
                }
            }
        }

        if (RateHz is not { } rate || rate == fs)
        {
            return new EcgSignals(record.Header, leads, fs, record.Length);
        }

        var resampled = leads.Select(l => RationalResampler.Resample(l, fs, rate)).ToList();
        return new EcgSignals(record.Header, resampled, rate, resampled.Count > 0 ? resampled[0].Length : RationalResampler.OutputLength(checked((int)record.Length), fs, rate));
    }

    /// <summary>Reads a record's reference annotations, their sample indices at the reader's rate.</summary>
    public IReadOnlyList<Annotation> ReadAnnotations(string name)
    {
        var annotations = Database.ReadAnnotations(name, Annotator);
        if (RateHz is not { } rate)
        {
            return annotations;
        }

        var fs = SourceRateHz(name);
        return fs == rate ? annotations : [.. annotations.Select(a => a with { Sample = (long)Math.Round(a.Sample * rate / fs) })];
    }

    /// <summary>The rate a record is read at, from its header alone.</summary>
    public double SampleRateHz(string name) => RateHz ?? SourceRateHz(name);

    private double SourceRateHz(string name) => WfdbHeader.Read(Path.Combine(Database.Directory, name + ".hea")).SamplingFrequencyHz;
}
