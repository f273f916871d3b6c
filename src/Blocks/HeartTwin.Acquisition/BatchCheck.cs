using HeartTwin.Contracts;

namespace HeartTwin.Acquisition;

/// <summary>
/// The shape checks a batch must pass before it reaches the pipeline. The Connector validates batches already; these
/// guard the block against a publisher that did not, so that bad input is logged and skipped, never thrown.
/// </summary>
internal static class BatchCheck
{
    /// <summary>The lowest and highest device rates the QRS detector supports, in Hz.</summary>
    public const double MinRateHz = 50;

    /// <summary>The highest device rate, in Hz.</summary>
    public const double MaxRateHz = 2000;

    /// <summary>Why the batch cannot be processed, or null when it can.</summary>
    public static string? Problem(SamplesReceived batch)
    {
        if (batch.Leads is null || batch.Samples is null || batch.Leads.Count == 0)
        {
            return "no leads";
        }

        if (batch.Leads.Count != batch.Samples.Length)
        {
            return $"{batch.Leads.Count} leads declared but {batch.Samples.Length} sample arrays sent";
        }

        if (!(batch.SampleRateHz >= MinRateHz && batch.SampleRateHz <= MaxRateHz))
        {
            return $"sampling rate {batch.SampleRateHz} Hz is outside {MinRateHz}–{MaxRateHz} Hz";
        }

        var length = batch.Samples[0]?.Length ?? -1;
        for (var i = 0; i < batch.Samples.Length; i++)
        {
            if (batch.Samples[i] is null || batch.Samples[i].Length != length)
            {
                return "the leads' sample arrays differ in length";
            }

            var lead = batch.Leads[i];
            if (lead is null || string.IsNullOrWhiteSpace(lead.Name) || !(lead.Gain > 0) || !double.IsFinite(lead.Gain))
            {
                return $"lead {i} has no name or a gain that is not a positive number";
            }
        }

        return null;
    }
}
