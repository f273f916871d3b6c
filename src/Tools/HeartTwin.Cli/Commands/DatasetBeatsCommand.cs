using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeartTwin.Signals.Arrays;
using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Detection;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Rhythm;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Cli.Commands;

/// <summary>
/// <c>hearttwin dataset beats</c>: exports the beat-model dataset of docs/beat-model-contract.md: our detections matched
/// to the reference beats, with the features of <see cref="BeatFeatureExtractor"/> and the reference AAMI labels.
/// </summary>
internal static class DatasetBeatsCommand
{
    /// <summary>Width of the <c>record</c> array's strings (<c>&lt;U16</c>).</summary>
    public const int RecordNameWidth = 16;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var db = CommonOptions.Database();
        var output = new Option<string>("--out") { Description = "The .npz file to write; the sidecar FILE.json is written beside it.", Required = true };
        var records = CommonOptions.Records("export");
        var specVersion = new Option<int>("--spec")
        {
            Description = "The beat window spec version of docs/beat-model-contract.md (1, 2 or 3).",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("beats", "Export beat windows, RR features and AAMI labels for training the beat model (NumPy .npz).") { db, output, records, specVersion };
        command.SetAction(parse => CommandErrors.Guard(stderr, () =>
        {
            var manifest = Export(parse.GetValue(db)!, parse.GetValue(records), parse.GetValue(output)!, parse.GetValue(specVersion));
            WriteSummary(manifest, parse.GetValue(output)!, stdout);
            return 0;
        }));
        return command;
    }

    /// <summary>Builds the dataset and writes FILE.npz and FILE.json; returns the sidecar's content.</summary>
    public static BeatDatasetManifest Export(string dbDir, string? recordList, string outPath, int specVersion = 1)
    {
        BeatWindowSpec spec;
        try
        {
            spec = BeatWindowSpec.FromVersion(specVersion);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new UsageException($"--spec {specVersion} is not a beat window spec version; use 1, 2 or 3.", e);
        }
        var fullOut = Path.GetFullPath(outPath);
        var outDir = Path.GetDirectoryName(fullOut)!;
        if (!Directory.Exists(outDir))
        {
            throw new UsageException($"cannot write {outPath}: folder {outDir} does not exist.");
        }

        if (Directory.Exists(fullOut))
        {
            throw new UsageException($"cannot write {outPath}: it is a folder.");
        }

        var database = WfdbDatabase.Open(dbDir);
        var names = EvalQrsCommand.ParseRecords(recordList, database);
        foreach (var n in names)
        {
            if (n.Length > RecordNameWidth)
            {
                throw new UsageException($"record name '{n}' is longer than {RecordNameWidth} characters.");
            }
        }

        var results = new RecordBeats[names.Count];
        Parallel.For(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => results[i] = ExtractRecord(database, names[i], spec));

        int total = results.Sum(r => r.Labels.Count);
        int length = spec.FeatureLength;
        var x = new float[(long)total * length];
        var rr = new float[(long)total * spec.RrFeatureCount];
        var y = new long[total];
        var sample = new long[total];
        var af = new long[total];
        var record = new string[total];
        int at = 0;
        foreach (var r in results)
        {
            for (int k = 0; k < r.Labels.Count; k++, at++)
            {
                r.Features[k].Window.CopyTo(x, (long)at * length);
                r.Features[k].Rr.CopyTo(rr, (long)at * spec.RrFeatureCount);
                y[at] = (long)r.Labels[k];
                sample[at] = r.Features[k].SampleIndex;
                af[at] = r.InAf[k] ? 1 : 0;
                record[at] = r.Record;
            }
        }

        var npz = new NpzWriter()
            .Add("x", x, total, spec.Channels, spec.WindowSamples)
            .Add("rr", rr, total, spec.RrFeatureCount)
            .Add("y", y, total)
            .AddStrings("record", record, RecordNameWidth)
            .Add("sample", sample, total)
            .Add("af", af, total);

        // Write beside the target and rename, so a reader polling for the file never sees half of it.
        var temp = fullOut + ".tmp";
        string sha;
        try
        {
            npz.Save(temp);
            using (var f = File.OpenRead(temp))
            {
                sha = Convert.ToHexStringLower(SHA256.HashData(f));
            }

            var manifest = Manifest(spec, database, results, total, sha);
            var jsonPath = Path.ChangeExtension(fullOut, ".json");
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(manifest, Json) + "\n");
            File.Move(temp, fullOut, overwrite: true);
            return manifest;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static RecordBeats ExtractRecord(WfdbDatabase database, string name, BeatWindowSpec spec)
    {
        var (_, leadName, fs, _, detections, features) = BeatPipeline.Extract(new RecordReader(database), name, spec);

        var referenceSamples = new List<long>();
        var referenceLabels = new List<AamiClass>();
        foreach (var a in database.ReadAnnotations(name))
        {
            if (AamiMapping.FromCode(a.Code) is AamiClass c)
            {
                referenceSamples.Add(a.Sample);
                referenceLabels.Add(c);
            }
        }

        // Features come from every detection, as the streaming path sees them; only matched beats are kept.
        var window = (long)Math.Round(BeatMatcher.DefaultWindowMs / 1000.0 * fs);
        // The AF detector's flag per detection, as the twin computes it: the decision rule of a model needs it (no AF beat is a premature S beat).
        var afBeats = AfDetector.Analyze(detections, fs).Beats;
        var kept = new List<BeatFeatures>();
        var labels = new List<AamiClass>();
        var inAf = new List<bool>();
        foreach (var m in BeatMatcher.Match(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(referenceSamples), detections, window))
        {
            if (m.ReferenceIndex >= 0 && m.TestIndex >= 0)
            {
                kept.Add(features[m.TestIndex]);
                labels.Add(referenceLabels[m.ReferenceIndex]);
                inAf.Add(afBeats[m.TestIndex].IsAf);
            }
        }

        var referenceCounts = new long[5];
        foreach (var c in referenceLabels)
        {
            referenceCounts[(int)c]++;
        }

        return new RecordBeats(name, leadName, fs, detections.Length, referenceCounts, kept, labels, inAf);
    }

    private static BeatDatasetManifest Manifest(BeatWindowSpec spec, WfdbDatabase database, RecordBeats[] results, int total, string sha)
    {
        var rows = results.Select(r => new BeatDatasetRecord(
            r.Record, r.LeadName, r.SampleRateHz, r.Detections, r.ReferenceCounts.Sum(), r.Labels.Count,
            Counts(r.Labels.Select(l => (int)l)), Counts(r.ReferenceCounts))).ToList();
        var totals = new long[5];
        foreach (var r in results)
        {
            foreach (var l in r.Labels)
            {
                totals[(int)l]++;
            }
        }

        return new BeatDatasetManifest(
            "hearttwin-beats",
            new BeatDatasetSpec(
                spec.Version, spec.SampleRateHz, spec.WindowSamples, -spec.SamplesBeforeFiducial, spec.Channels,
                "rhythm lead (MLII, II, MLI, I, MLIII, III, else the first ECG lead)",
                new BeatDatasetFilter(spec.BaselineCutoffHz, spec.BaselineOrder, spec.LowPassCutoffHz, spec.LowPassOrder, null),
                spec.FiducialDelayFrequencyHz, spec.TemplateBeats, spec.AmplitudeBeats, spec.AmplitudeFloorMv, spec.LocalRrIntervals,
                spec.RrFeatureNames)
            {
                PreviousBeatChannel = spec.Version >= 2 ? spec.PreviousBeatChannel : null,
                LongTemplateBeats = spec.Version >= 2 ? spec.LongTemplateBeats : null,
                LongRrIntervals = spec.Version >= 2 ? spec.LongRrIntervals : null,
                Polarity = spec.DominantPolarityUp
                    ? new BeatDatasetPolarity("dominant QRS up", spec.PolaritySearchSeconds * 1000, spec.PolarityHysteresis)
                    : null,
            },
            database.Name,
            BeatMatcher.DefaultWindowMs,
            AamiMapping.Labels,
            new Dictionary<string, BeatDatasetArray>
            {
                ["x"] = new("float32", [total, spec.Channels, spec.WindowSamples]),
                ["rr"] = new("float32", [total, spec.RrFeatureCount]),
                ["y"] = new("int64", [total]),
                ["record"] = new(Npy.Unicode(RecordNameWidth), [total]),
                ["sample"] = new("int64", [total]),
                ["af"] = new("int64", [total]),
            },
            total,
            Counts(totals),
            rows,
            sha);
    }

    private static Dictionary<string, long> Counts(IEnumerable<int> labels)
    {
        var counts = new long[5];
        foreach (var l in labels)
        {
            counts[l]++;
        }

        return Counts(counts);
    }

    private static Dictionary<string, long> Counts(long[] counts) =>
        AamiMapping.Labels.Select((label, i) => (label, i)).ToDictionary(p => p.label, p => counts[p.i]);

    private static void WriteSummary(BeatDatasetManifest m, string outPath, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"Beat dataset v{m.Spec.Version} from {m.Database}: {m.Records.Count} records, {m.Beats} beats -> {outPath}"));
        o.WriteLine(string.Join("  ", m.Counts.Select(kv => string.Create(inv, $"{kv.Key} {kv.Value}"))));
        long reference = m.Records.Sum(r => r.ReferenceBeats);
        o.WriteLine(string.Create(inv, $"matched {m.Beats} of {reference} reference beats ({(reference == 0 ? 0 : 100.0 * m.Beats / reference):F2}%); sha256 {m.DatasetSha256}"));
    }

    private sealed record RecordBeats(
        string Record, string LeadName, double SampleRateHz, int Detections, long[] ReferenceCounts,
        List<BeatFeatures> Features, List<AamiClass> Labels, List<bool> InAf);
}

/// <summary>The sidecar FILE.json of <c>dataset beats</c>.</summary>
internal sealed record BeatDatasetManifest(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("spec")] BeatDatasetSpec Spec,
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("match_window_ms")] double MatchWindowMs,
    [property: JsonPropertyName("labels")] IReadOnlyList<string> Labels,
    [property: JsonPropertyName("arrays")] IReadOnlyDictionary<string, BeatDatasetArray> Arrays,
    [property: JsonPropertyName("beats")] long Beats,
    [property: JsonPropertyName("counts")] IReadOnlyDictionary<string, long> Counts,
    [property: JsonPropertyName("records")] IReadOnlyList<BeatDatasetRecord> Records,
    [property: JsonPropertyName("dataset_sha256")] string DatasetSha256);

/// <summary>The spec's values, as the model card states them.</summary>
internal sealed record BeatDatasetSpec(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("sample_rate_hz")] double SampleRateHz,
    [property: JsonPropertyName("window_samples")] int WindowSamples,
    [property: JsonPropertyName("window_offset_samples")] int WindowOffsetSamples,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("lead")] string Lead,
    [property: JsonPropertyName("filter")] BeatDatasetFilter Filter,
    [property: JsonPropertyName("fiducial_delay_frequency_hz")] double FiducialDelayFrequencyHz,
    [property: JsonPropertyName("template_beats")] int TemplateBeats,
    [property: JsonPropertyName("amplitude_beats")] int AmplitudeBeats,
    [property: JsonPropertyName("amplitude_floor_mv")] double AmplitudeFloorMv,
    [property: JsonPropertyName("local_rr_intervals")] int LocalRrIntervals,
    [property: JsonPropertyName("rr_features")] IReadOnlyList<string> RrFeatures)
{
    /// <summary>Spec v2: whether channel 2 is the difference from the previous beat (absent in v1, so v1 sidecars keep their bytes).</summary>
    [JsonPropertyName("previous_beat_channel")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? PreviousBeatChannel { get; init; }

    /// <summary>Spec v2: the long template's depth in beats (the last channel), 0 for none.</summary>
    [JsonPropertyName("long_template_beats")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LongTemplateBeats { get; init; }

    /// <summary>Spec v2: intervals in the long RR baseline's median, 0 for none.</summary>
    [JsonPropertyName("long_rr_intervals")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LongRrIntervals { get; init; }

    /// <summary>Spec v3: how each stream's windows are turned so that its dominant QRS points up (absent before v3).</summary>
    [JsonPropertyName("polarity")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BeatDatasetPolarity? Polarity { get; init; }
}

/// <summary>Spec v3's polarity rule: the long template's deflections within ±<c>search_ms</c> of the fiducial, with hysteresis.</summary>
internal sealed record BeatDatasetPolarity(
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("search_ms")] double SearchMs,
    [property: JsonPropertyName("hysteresis")] double Hysteresis);

/// <summary>The filter settings of the spec.</summary>
internal sealed record BeatDatasetFilter(
    [property: JsonPropertyName("baseline_hz")] double BaselineHz,
    [property: JsonPropertyName("baseline_order")] int BaselineOrder,
    [property: JsonPropertyName("lowpass_hz")] double LowPassHz,
    [property: JsonPropertyName("lowpass_order")] int LowPassOrder,
    [property: JsonPropertyName("mains_notch")] double? MainsNotch);

/// <summary>One array's dtype and shape.</summary>
internal sealed record BeatDatasetArray(
    [property: JsonPropertyName("dtype")] string Dtype,
    [property: JsonPropertyName("shape")] IReadOnlyList<long> Shape);

/// <summary>One record's counts: detections, reference beats, matched (kept) beats per class and reference beats per class.</summary>
internal sealed record BeatDatasetRecord(
    [property: JsonPropertyName("record")] string Record,
    [property: JsonPropertyName("lead")] string Lead,
    [property: JsonPropertyName("sample_rate_hz")] double SampleRateHz,
    [property: JsonPropertyName("detections")] int Detections,
    [property: JsonPropertyName("reference_beats")] long ReferenceBeats,
    [property: JsonPropertyName("beats")] int Beats,
    [property: JsonPropertyName("counts")] IReadOnlyDictionary<string, long> Counts,
    [property: JsonPropertyName("reference_counts")] IReadOnlyDictionary<string, long> ReferenceCounts);
