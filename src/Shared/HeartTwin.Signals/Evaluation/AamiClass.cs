using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Evaluation;

/// <summary>The five beat classes of ANSI/AAMI EC57.</summary>
public enum AamiClass
{
    /// <summary>Normal and bundle-branch-block beats, and escape beats of supraventricular origin (N L R e j).</summary>
    N = 0,

    /// <summary>Supraventricular ectopic beats (A a J S).</summary>
    S = 1,

    /// <summary>Ventricular ectopic beats (V E).</summary>
    V = 2,

    /// <summary>Fusion of ventricular and normal beats (F).</summary>
    F = 3,

    /// <summary>Paced, paced fusion and unclassifiable beats (/ f Q).</summary>
    Q = 4,
}

/// <summary>Maps WFDB beat codes to AAMI EC57 classes.</summary>
public static class AamiMapping
{
    /// <summary>The labels in class order, for confusion matrices.</summary>
    public static IReadOnlyList<string> Labels { get; } = ["N", "S", "V", "F", "Q"];

    /// <summary>
    /// The AAMI class of a beat code, or null for annotations that are not beats.
    /// Codes outside MIT-BIH's usual set follow EC57's table: B→N, n→S, r→V, ?→Q.
    /// </summary>
    public static AamiClass? FromCode(int code) => AnnotationCode.Mnemonic(code) switch
    {
        "N" or "L" or "R" or "e" or "j" or "B" => AamiClass.N,
        "A" or "a" or "J" or "S" or "n" => AamiClass.S,
        "V" or "E" or "r" => AamiClass.V,
        "F" => AamiClass.F,
        "/" or "f" or "Q" or "?" => AamiClass.Q,
        _ => null,
    };

    /// <summary>A representative WFDB beat code for an AAMI class, used when writing classified annotations.</summary>
    public static int ToCode(AamiClass c) => c switch
    {
        AamiClass.N => AnnotationCode.Normal,
        AamiClass.S => 9,
        AamiClass.V => AnnotationCode.Pvc,
        AamiClass.F => 6,
        _ => AnnotationCode.Unknown,
    };
}
