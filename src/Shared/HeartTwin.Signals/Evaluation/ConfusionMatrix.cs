namespace HeartTwin.Signals.Evaluation;

/// <summary>
/// An AAMI EC57 confusion matrix: rows are the reference class, columns the predicted class.
/// Per-class statistics follow EC57 as PhysioNet's <c>bxb</c> computes them: a class's FN are its beats predicted as
/// another class, its FP are other classes' beats predicted as it, except that fusion (F) and unclassifiable (Q) beats
/// called V are not V false positives, and Q beats called S are not S false positives (bxb's VFP = Nv + Sv + Ov + Xv,
/// SFP = Ns + Vs + Fs + Os + Xs). EC57 defines no statistics for N, F and Q; theirs count every other class.
/// </summary>
public sealed class ConfusionMatrix
{
    private const int Classes = 5;
    private readonly long[,] _counts = new long[Classes, Classes];

    /// <summary>Count of beats of reference class <paramref name="reference"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[AamiClass reference, AamiClass predicted] => _counts[(int)reference, (int)predicted];

    /// <summary>Total beats counted.</summary>
    public long Total
    {
        get
        {
            long t = 0;
            foreach (var c in _counts)
            {
                t += c;
            }

            return t;
        }
    }

    /// <summary>Share of beats on the diagonal, in percent.</summary>
    public double AccuracyPercent
    {
        get
        {
            long diagonal = 0;
            for (var i = 0; i < Classes; i++)
            {
                diagonal += _counts[i, i];
            }

            var total = Total;
            return total == 0 ? 0 : 100.0 * diagonal / total;
        }
    }

    /// <summary>Counts one matched beat.</summary>
    public void Add(AamiClass reference, AamiClass predicted) => _counts[(int)reference, (int)predicted]++;

    /// <summary>Adds another matrix (gross statistics).</summary>
    public void Add(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < Classes; i++)
        {
            for (var j = 0; j < Classes; j++)
            {
                _counts[i, j] += other._counts[i, j];
            }
        }
    }

    /// <summary>TP, FP and FN of one class, with Se and +P.</summary>
    public DetectionCounts ClassStatistics(AamiClass c)
    {
        var k = (int)c;
        long fp = 0, fn = 0;
        for (var i = 0; i < Classes; i++)
        {
            if (i != k)
            {
                fn += _counts[k, i];
                if (!IsExemptFalsePositive((AamiClass)i, c))
                {
                    fp += _counts[i, k];
                }
            }
        }

        return new DetectionCounts(_counts[k, k], fp, fn);
    }

    /// <summary>
    /// True when EC57 does not count a beat of class <paramref name="reference"/> called <paramref name="predicted"/> as
    /// a false positive of the predicted class: a fusion beat is partly ventricular, and an unclassifiable beat may be
    /// either, so calling them V (or a Q beat S) is not held against the V (S) statistics. They still count as FN of
    /// their own class.
    /// </summary>
    public static bool IsExemptFalsePositive(AamiClass reference, AamiClass predicted) => predicted switch
    {
        AamiClass.V => reference is AamiClass.F or AamiClass.Q,
        AamiClass.S => reference is AamiClass.Q,
        _ => false,
    };

    /// <summary>The matrix as rows of counts, in <see cref="AamiMapping.Labels"/> order.</summary>
    public long[][] ToRows()
    {
        var rows = new long[Classes][];
        for (var i = 0; i < Classes; i++)
        {
            rows[i] = new long[Classes];
            for (var j = 0; j < Classes; j++)
            {
                rows[i][j] = _counts[i, j];
            }
        }

        return rows;
    }
}
