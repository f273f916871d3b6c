using HeartTwin.Contracts;
using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Acquisition;

/// <summary>
/// Which of a batch's leads the pipeline reads, chosen exactly as the training data were: the ECG leads of
/// <see cref="EcgLeads.Select"/> feed the QRS detector, and <see cref="EcgLeads.RhythmLead"/> names the one beat
/// windows are cut from (MLII, II, … by name). Also how each lead's ADC values become millivolts.
/// </summary>
internal sealed class LeadLayout
{
    private LeadLayout(IReadOnlyList<LeadInfo> leads, int[] ecg, int rhythm)
    {
        Leads = leads;
        EcgIndices = ecg;
        RhythmPosition = rhythm;
        Names = [.. leads.Select(l => l.Name)];
        Scales = new double[ecg.Length];
        UnitScales = new float[ecg.Length];
        Baselines = new int[ecg.Length];
        for (var k = 0; k < ecg.Length; k++)
        {
            var lead = leads[ecg[k]];
            Scales[k] = 1.0 / lead.Gain;
            Baselines[k] = lead.Baseline;
            UnitScales[k] = UnitScale(lead.Units);
        }
    }

    /// <summary>The batch's leads, as declared.</summary>
    public IReadOnlyList<LeadInfo> Leads { get; }

    /// <summary>The lead names, in batch order.</summary>
    public string[] Names { get; }

    /// <summary>Indices (into the batch's leads) of the ECG leads, in batch order.</summary>
    public int[] EcgIndices { get; }

    /// <summary>Position of the rhythm lead within <see cref="EcgIndices"/>.</summary>
    public int RhythmPosition { get; }

    /// <summary>The rhythm lead's name.</summary>
    public string RhythmLeadName => Leads[EcgIndices[RhythmPosition]].Name;

    /// <summary>1 / gain per ECG lead.</summary>
    public double[] Scales { get; }

    /// <summary>ADC baseline per ECG lead.</summary>
    public int[] Baselines { get; }

    /// <summary>Factor from the lead's unit to mV per ECG lead (1 for mV).</summary>
    public float[] UnitScales { get; }

    /// <summary>Builds the layout of a batch's leads (checked by <see cref="BatchCheck"/>: named, positive gains).</summary>
    public static LeadLayout Create(IReadOnlyList<LeadInfo> leads)
    {
        // The same choice as training (EcgLeads works on WFDB headers, so the leads are described as one).
        var header = new WfdbHeader("stream", 360, null, null, null,
            [.. leads.Select(l => new WfdbSignalSpec("stream.dat", 16, 1, 0, 0, l.Gain, l.Baseline, l.Units ?? "mV", 16, 0, 0, null, 0, l.Name))],
            []);
        var ecg = EcgLeads.Select(header);
        var rhythm = EcgLeads.RhythmLead(header);
        return new LeadLayout(leads, ecg, rhythm);
    }

    /// <summary>Whether a batch declares the same leads (names, gains, baselines, units, order).</summary>
    public bool SameAs(IReadOnlyList<LeadInfo> leads)
    {
        if (leads.Count != Leads.Count)
        {
            return false;
        }

        for (var i = 0; i < leads.Count; i++)
        {
            if (!Equals(leads[i], Leads[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Millivolts per unit, as <see cref="EcgLeads.ReadMillivolts"/> converts them.</summary>
    private static float UnitScale(string? units) => (units ?? "mV").Trim().ToUpperInvariant() switch
    {
        "UV" or "µV" or "ΜV" => 1e-3f,
        "V" => 1e3f,
        "NV" => 1e-6f,
        _ => 1f,
    };
}
