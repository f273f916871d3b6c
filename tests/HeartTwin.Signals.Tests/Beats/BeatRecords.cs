using HeartTwin.Signals.Beats;
using HeartTwin.Signals.Evaluation;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Beats;

/// <summary>Real records and beat lists for the extractor tests.</summary>
internal static class BeatRecords
{
    /// <summary>The first <paramref name="minutes"/> of a shared MIT-BIH record's first lead (mV, 360 Hz) and its reference beats.</summary>
    public static (float[] Lead, long[] Beats) Read(string name, int minutes)
    {
        var database = WfdbDatabase.Open(TestData.MitDb);
        var record = database.ReadRecord(name);
        int length = 360 * 60 * minutes;
        var lead = EcgLeads.ReadMillivolts(record)[0].AsSpan(0, length).ToArray();
        var beats = database.ReadAnnotations(name)
            .Where(a => AamiMapping.FromCode(a.Code) is not null && a.Sample < length)
            .Select(a => a.Sample).ToArray();
        return (lead, beats);
    }

    /// <summary>Registers every beat, then feeds the whole signal and flushes.</summary>
    public static void Feed(BeatFeatureExtractor extractor, float[] x, long[] beats, List<BeatFeatures> output)
    {
        foreach (var b in beats)
        {
            extractor.AddBeat(b, output);
        }

        extractor.Process(x, output);
        extractor.Flush(output);
    }
}
