using System.CommandLine;
using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>A record's ECG leads in millivolts, at the rate the evaluator reads them.</summary>
internal sealed record EcgSignals(WfdbHeader Header, List<float[]> Leads, double SampleRateHz, long Length);

/// <summary>
/// Reads a database's records for the evaluators: at their own rate, or resampled to another (<c>--resample</c>) as a
/// device sampling at that rate would have recorded them, with the reference from the annotator the database keeps it in
/// (<c>--reference</c>: <c>atr</c> in MIT-BIH; the AF Database keeps its beats in <c>qrs</c> and only rhythm in <c>atr</c>).
/// The product is measured on databases at other rates than MIT-BIH's 360 Hz, so every evaluator can show what a rate change
/// does to the same records.
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

    /// <summary>Creates a reader; <paramref name="rateHz"/> null reads each record at its own rate.</summary>
    /// <exception cref="UsageException">The rate is outside 50–2000 Hz, or the annotator is not a plain name.</exception>
    public RecordReader(WfdbDatabase database, double? rateHz = null, string? annotator = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (rateHz is { } r && !(r >= MinRateHz && r <= MaxRateHz))
        {
            throw new UsageException($"--resample must be a rate from {MinRateHz} to {MaxRateHz} Hz; got {r}.");
        }

        annotator ??= DefaultAnnotator;
        if (annotator.Length == 0 || !annotator.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            // It becomes a file name's extension (R.annotator), so nothing that could leave the database folder.
            throw new UsageException($"--reference must be an annotator name such as atr or qrs (letters, digits, _ or -); got '{annotator}'.");
        }

        Database = database;
        RateHz = rateHz;
        Annotator = annotator;
    }

    /// <summary>The reference annotator when none is named: MIT-BIH's audited beat and rhythm annotations.</summary>
    public const string DefaultAnnotator = "atr";

    /// <summary>The database read.</summary>
    public WfdbDatabase Database { get; }

    /// <summary>The rate every record is resampled to, or null for each record's own.</summary>
    public double? RateHz { get; }

    /// <summary>The annotator whose file (R.annotator) holds the reference.</summary>
    public string Annotator { get; }

    /// <summary>The <c>--resample</c> option the evaluators share.</summary>
    public static Option<double?> ResampleOption() =>
        new("--resample") { Description = "Resample every record to this rate (Hz) before detection, as a device at that rate would record it; the reference annotations are scaled to it." };

    /// <summary>The <c>--reference</c> option the evaluators share.</summary>
    public static Option<string> ReferenceOption() =>
        new("--reference") { Description = "The annotator of the reference annotations (files R.<name>), for example qrs in the MIT-BIH AF Database.", DefaultValueFactory = _ => DefaultAnnotator };

    /// <summary>Reads a record's ECG leads (mV) at the reader's rate.</summary>
    public EcgSignals ReadSignals(string name)
    {
        var record = Database.ReadRecord(name);
        var leads = EcgLeads.ReadMillivolts(record);
        var fs = record.SamplingFrequencyHz;
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
