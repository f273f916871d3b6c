namespace HeartTwin.Signals.Edf;

/// <summary>Which flavour of the European Data Format a file declares in its header's reserved field.</summary>
public enum EdfVariant
{
    /// <summary>Original EDF (1992): no "EDF+" marker in the reserved field.</summary>
    Edf = 0,

    /// <summary>EDF+ with contiguous data records (reserved field "EDF+C").</summary>
    EdfPlusContinuous = 1,

    /// <summary>EDF+ with possibly discontinuous data records (reserved field "EDF+D"); record onsets come from the annotation channel.</summary>
    EdfPlusDiscontinuous = 2,
}
