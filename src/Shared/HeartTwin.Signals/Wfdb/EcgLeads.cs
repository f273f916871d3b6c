namespace HeartTwin.Signals.Wfdb;

/// <summary>Chooses which signals of a record are ECG leads.</summary>
public static class EcgLeads
{
    private static readonly string[] LeadNames =
    [
        "MLI", "MLII", "MLIII", "I", "II", "III", "AVR", "AVL", "AVF", "V", "V1", "V2", "V3", "V4", "V5", "V6",
        "ML5", "MV1", "MV2", "MV3", "MV4", "MV5", "MV6", "D3", "D4", "CM5", "CC5", "ECG", "ECG1", "ECG2", "ECG3",
        "ECG 1", "ECG 2", "ECG LEAD I", "ECG LEAD II", "ECG LEAD III", "MODIFIED LEAD II", "X", "Y", "Z", "VX", "VY", "VZ",
    ];

    /// <summary>
    /// Indices of the signals that carry an ECG: voltage units, or a recognised lead name.
    /// When none qualifies, every signal is returned, so a record with unusual labels is still analysed.
    /// </summary>
    public static int[] Select(WfdbHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var selected = new List<int>();
        for (var i = 0; i < header.Signals.Count; i++)
        {
            var s = header.Signals[i];
            var desc = s.Description.Trim().ToUpperInvariant();
            var units = s.Units.Trim().ToUpperInvariant();
            var voltage = units is "MV" or "UV" or "V" or "NV";
            var named = LeadNames.Contains(desc) || desc.StartsWith("ECG", StringComparison.Ordinal);
            var otherKind = desc.Contains("BP", StringComparison.Ordinal) || desc.Contains("RESP", StringComparison.Ordinal)
                || desc.Contains("PLETH", StringComparison.Ordinal) || desc.Contains("EEG", StringComparison.Ordinal)
                || desc.Contains("EMG", StringComparison.Ordinal) || desc.Contains("EOG", StringComparison.Ordinal)
                || desc.Contains("SPO2", StringComparison.Ordinal) || desc.Contains("CO2", StringComparison.Ordinal);
            if ((named || voltage) && !otherKind)
            {
                selected.Add(i);
            }
        }

        return selected.Count > 0 ? [.. selected] : [.. Enumerable.Range(0, header.Signals.Count)];
    }

    // Limb leads along the heart's usual axis, in order of preference: the rhythm leads that beat models are trained on.
    private static readonly string[] RhythmLeadNames =
        ["MLII", "II", "ECG LEAD II", "MODIFIED LEAD II", "MLI", "I", "ECG LEAD I", "MLIII", "III", "ECG LEAD III"];

    /// <summary>
    /// The position, within <see cref="Select"/>'s list, of the lead that beat models read: the first of MLII, II, MLI, I,
    /// MLIII, III that the header names, else the first ECG lead. Holters and MIT-BIH usually record modified lead II
    /// first, but not always (MIT-BIH 114 records V5 first), and a chest lead's beats look different.
    /// </summary>
    public static int RhythmLead(WfdbHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var selected = Select(header);
        foreach (var name in RhythmLeadNames)
        {
            for (var k = 0; k < selected.Length; k++)
            {
                if (string.Equals(header.Signals[selected[k]].Description.Trim(), name, StringComparison.OrdinalIgnoreCase))
                {
                    return k;
                }
            }
        }

        return 0;
    }

    /// <summary>Physical ECG leads in mV, ready for detection: units converted from µV/V where declared.</summary>
    public static List<float[]> ReadMillivolts(WfdbRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var leads = new List<float[]>();
        foreach (var i in Select(record.Header))
        {
            var x = record.Physical(i);
            var scale = record.Header.Signals[i].Units.Trim().ToUpperInvariant() switch
            {
                "UV" => 1e-3f,
                "V" => 1e3f,
                "NV" => 1e-6f,
                _ => 1f,
            };
            if (scale != 1f)
            {
                for (var k = 0; k < x.Length; k++)
                {
                    x[k] *= scale;
                }
            }

            leads.Add(x);
        }

        return leads;
    }
}
