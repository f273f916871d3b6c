namespace HeartTwin.Signals.Wfdb;

/// <summary>WFDB annotation codes (ecgcodes.h) with their mnemonics and beat semantics.</summary>
public static class AnnotationCode
{
    /// <summary>Highest valid annotation code.</summary>
    public const int MaxCode = 49;

    /// <summary>Normal beat (N).</summary>
    public const int Normal = 1;

    /// <summary>Premature ventricular contraction (V).</summary>
    public const int Pvc = 5;

    /// <summary>Unclassifiable beat (Q).</summary>
    public const int Unknown = 13;

    /// <summary>Signal quality change (~).</summary>
    public const int Noise = 14;

    /// <summary>Comment annotation (").</summary>
    public const int Note = 22;

    /// <summary>Rhythm change (+); the rhythm is in the aux text, for example <c>(AFIB</c>.</summary>
    public const int Rhythm = 28;

    /// <summary>Start of ventricular flutter or fibrillation ([).</summary>
    public const int VentricularFlutterOnset = 32;

    /// <summary>End of ventricular flutter or fibrillation (]).</summary>
    public const int VentricularFlutterOffset = 33;

    private static readonly string[] Mnemonics =
    [
        " ", "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", "[15]", "|", "[17]", "s", "T",
        "*", "D", "\"", "=", "p", "B", "^", "t", "+", "u", "?", "!", "[", "]", "e", "n", "@", "x", "f", "(",
        ")", "r", "[42]", "[43]", "[44]", "[45]", "[46]", "[47]", "[48]", "[49]",
    ];

    // isqrs from WFDB's ecgmap.h: the codes that denote a QRS complex.
    private static readonly bool[] Beat = BuildBeatTable();

    /// <summary>The mnemonic used by rdann and in MIT-BIH documentation (N, V, +, ~ …).</summary>
    public static string Mnemonic(int code) => code >= 0 && code < Mnemonics.Length ? Mnemonics[code] : $"[{code}]";

    /// <summary>The code for a mnemonic, or −1 when none matches.</summary>
    public static int FromMnemonic(string mnemonic) => Array.IndexOf(Mnemonics, mnemonic);

    /// <summary>Whether <paramref name="code"/> marks a beat (a QRS complex), as WFDB's <c>isqrs</c> says.</summary>
    public static bool IsBeat(int code) => code > 0 && code < Beat.Length && Beat[code];

    private static bool[] BuildBeatTable()
    {
        var table = new bool[MaxCode + 1];
        foreach (var c in new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41 })
        {
            table[c] = true;
        }

        return table;
    }
}
