using System.Globalization;
using HeartTwin.Contracts;
using HeartTwin.Signals;
using HeartTwin.Signals.Edf;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Simulation;

/// <summary>
/// A recording as a device holds it: integer ADC samples per lead at one rate, with each lead's name, gain and baseline.
/// Samples are never rescaled, so what a device sends is bit for bit what the file holds.
/// </summary>
/// <param name="Name">Record name (for messages).</param>
/// <param name="SampleRateHz">Samples per second per lead.</param>
/// <param name="Leads">One entry per lead.</param>
/// <param name="Samples">One array per lead, all the same length.</param>
internal sealed record SimulatedRecord(string Name, double SampleRateHz, IReadOnlyList<LeadInfo> Leads, int[][] Samples)
{
    /// <summary>Samples per lead.</summary>
    public int Length => Samples.Length == 0 ? 0 : Samples[0].Length;

    /// <summary>Keeps the first <paramref name="count"/> leads.</summary>
    public SimulatedRecord FirstLeads(int count) =>
        count >= Leads.Count ? this : this with { Leads = Leads.Take(count).ToArray(), Samples = Samples.Take(count).ToArray() };

    /// <summary>
    /// Loads <paramref name="record"/> from folder <paramref name="database"/>. An EDF file is recognised by its extension
    /// (<c>R.edf</c>, or <c>R</c> naming an .edf file) or, when no WFDB header exists, by the EDF header's "0" version field;
    /// anything else is read as WFDB (<c>R.hea</c>).
    /// </summary>
    /// <exception cref="IOException">The database folder or the record does not exist.</exception>
    /// <exception cref="SignalFormatException">The file is malformed or holds no signal.</exception>
    public static SimulatedRecord Load(string database, string record)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(record);
        if (!Directory.Exists(database))
        {
            throw new DirectoryNotFoundException($"{database}: database folder not found.");
        }

        var edf = FindEdf(database, record);
        if (edf is not null)
        {
            return FromEdf(edf);
        }

        var header = Path.Combine(database, record + ".hea");
        if (!File.Exists(header))
        {
            throw new FileNotFoundException($"Record '{record}' not found in {database} (no {record}.hea, {record}.edf or EDF file named {record}).");
        }

        return FromWfdb(WfdbRecord.Read(database, record));
    }

    private static string? FindEdf(string database, string record)
    {
        foreach (var candidate in new[] { Path.Combine(database, record), Path.Combine(database, record + ".edf"), Path.Combine(database, record + ".EDF") })
        {
            if (File.Exists(candidate) && (candidate.EndsWith(".edf", StringComparison.OrdinalIgnoreCase) || StartsLikeEdf(candidate)))
            {
                return candidate;
            }
        }

        return null;
    }

    // EDF's first field is the version "0" padded with spaces to 8 bytes.
    private static bool StartsLikeEdf(string path)
    {
        Span<byte> head = stackalloc byte[8];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) == 8 && head.SequenceEqual("0       "u8);
    }

    private static SimulatedRecord FromWfdb(WfdbRecord record)
    {
        var h = record.Header;
        if (h.Signals.Count == 0 || record.Length == 0)
        {
            throw new SignalFormatException($"Record {h.RecordName} holds no samples.");
        }

        var leads = new LeadInfo[h.Signals.Count];
        var samples = new int[h.Signals.Count][];
        for (int i = 0; i < leads.Length; i++)
        {
            var s = h.Signals[i];
            leads[i] = new LeadInfo(LeadName(s.Description, i), s.AdcGain, s.Baseline, string.IsNullOrEmpty(s.Units) ? "mV" : s.Units);
            samples[i] = record.Adc(i).ToArray();
        }

        return new SimulatedRecord(h.RecordName, h.SamplingFrequencyHz, leads, samples);
    }

    private static SimulatedRecord FromEdf(string path)
    {
        var file = EdfReader.Read(path);
        if (file.Signals.Count == 0)
        {
            throw new SignalFormatException($"{path}: the EDF file holds no sampled signal.");
        }

        // A device streams one rate: keep the signals at the first signal's rate (an EDF may mix ECG with slower channels).
        double rate = file.Signals[0].SampleRateHz;
        var kept = file.Signals.Where(s => Math.Abs(s.SampleRateHz - rate) < 1e-9).ToList();
        int length = kept.Min(s => s.Length);
        var leads = new LeadInfo[kept.Count];
        var samples = new int[kept.Count][];
        for (int i = 0; i < kept.Count; i++)
        {
            var s = kept[i];
            // EDF maps physical = Gain·digital + Offset; the wire's form is physical = (digital − baseline) / gain.
            double gain = 1.0 / s.Header.Gain;
            int baseline = (int)Math.Round(-s.Header.Offset / s.Header.Gain, MidpointRounding.AwayFromZero);
            leads[i] = new LeadInfo(LeadName(s.Label, i), gain, baseline, string.IsNullOrEmpty(s.Units) ? "mV" : s.Units);
            samples[i] = s.Digital.AsSpan(0, length).ToArray().Select(v => (int)v).ToArray();
        }

        return new SimulatedRecord(Path.GetFileNameWithoutExtension(path), rate, leads, samples);
    }

    private static string LeadName(string description, int index) =>
        string.IsNullOrWhiteSpace(description) ? string.Create(CultureInfo.InvariantCulture, $"lead{index + 1}") : description.Trim();
}
