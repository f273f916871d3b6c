using HeartTwin.Contracts;
using HeartTwin.Signals.Resampling;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Acquisition.Tests;

/// <summary>Finds the shared MIT-BIH records (../shared/data/mitdb beside the repository, or HEARTTWIN_MITDB).</summary>
public static class TestData
{
    public static string MitDb => HeartTwin.Testing.SharedTestPaths.MitDb;

}

/// <summary>A record as a device would stream it: integer ADC values per lead, lead descriptions, rate, and the reference beats.</summary>
public sealed record DeviceRecord(string Name, double SampleRateHz, LeadInfo[] Leads, int[][] Adc, long[] ReferenceBeats, IReadOnlyList<Annotation> Reference)
{
    public int Length => Adc[0].Length;

    private static readonly Dictionary<string, DeviceRecord> Cache = [];

    /// <summary>An MIT-BIH record as recorded (360 Hz, 200 adu/mV), optionally cut to its first <paramref name="seconds"/>.</summary>
    public static DeviceRecord Read(string name, double? seconds = null)
    {
        DeviceRecord full;
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out full!))
            {
                var record = WfdbRecord.Read(TestData.MitDb, name);
                var leads = record.Header.Signals.Select(s => new LeadInfo(s.Description, s.AdcGain, s.Baseline, s.Units)).ToArray();
                var adc = Enumerable.Range(0, record.SignalCount).Select(i => record.Adc(i).ToArray()).ToArray();
                var reference = AnnotationFile.Read(TestData.MitDb, name, "atr");
                full = new DeviceRecord(name, record.SamplingFrequencyHz, leads, adc, [.. reference.Where(a => a.IsBeat).Select(a => a.Sample)], reference);
                Cache[name] = full;
            }
        }

        return seconds is double s ? full.Cut((int)(s * full.SampleRateHz)) : full;
    }

    /// <summary>The first <paramref name="length"/> samples.</summary>
    public DeviceRecord Cut(int length) => this with
    {
        Adc = [.. Adc.Select(a => a[..length])],
        ReferenceBeats = [.. ReferenceBeats.Where(b => b < length)],
        Reference = [.. Reference.Where(a => a.Sample < length)],
    };

    /// <summary>
    /// The record resampled to <paramref name="rateHz"/> with the Signals resampler and quantised again at the same gain,
    /// as a device sampling at that rate would deliver it; the reference beats are moved to the new rate.
    /// </summary>
    public DeviceRecord Resampled(double rateHz)
    {
        var adc = new int[Adc.Length][];
        for (var l = 0; l < Adc.Length; l++)
        {
            var lead = Leads[l];
            var mv = Adc[l].Select(a => (float)((a - lead.Baseline) / lead.Gain)).ToArray();
            var resampled = RationalResampler.Resample(mv, SampleRateHz, rateHz);
            adc[l] = [.. resampled.Select(v => (int)Math.Round(v * lead.Gain) + lead.Baseline)];
        }

        var ratio = rateHz / SampleRateHz;
        var reference = Reference.Select(a => a with { Sample = (long)Math.Round(a.Sample * ratio) }).ToList();
        return new DeviceRecord(Name + "@" + rateHz, rateHz, Leads, adc, [.. reference.Where(a => a.IsBeat).Select(a => a.Sample)], reference);
    }

    /// <summary>The leads in mV, converted as the block converts them (and as WfdbRecord.Physical does).</summary>
    public float[] Millivolts(int lead)
    {
        var scale = 1.0 / Leads[lead].Gain;
        return [.. Adc[lead].Select(a => (float)((a - Leads[lead].Baseline) * scale))];
    }

    /// <summary>Batches of <paramref name="batchSeconds"/> from <paramref name="fromSample"/>, sequences from <paramref name="firstSequence"/>.</summary>
    public IEnumerable<SamplesReceived> Batches(string device, DateTimeOffset start, double batchSeconds = 1, long firstSequence = 0,
        int fromSample = 0, int? toSample = null, string? patient = null)
    {
        var size = (int)Math.Round(batchSeconds * SampleRateHz);
        var end = toSample ?? Length;
        var sequence = firstSequence;
        for (var offset = fromSample; offset < end; offset += size)
        {
            var n = Math.Min(size, end - offset);
            var samples = Adc.Select(a => a.AsSpan(offset, n).ToArray()).ToArray();
            var time = start + TimeSpan.FromTicks((long)Math.Round(offset * TimeSpan.TicksPerSecond / SampleRateHz));
            yield return new SamplesReceived(device, patient ?? "patient-" + device, sequence++, time, SampleRateHz, Leads, samples,
                DateTimeOffset.UtcNow, "mqtt");
        }
    }
}
