namespace HeartTwin.Signals.Beats;

/// <summary>
/// The settings of <see cref="MorphologyFamilies"/>, as a beat model's card states them (<c>decision.families</c>).
/// </summary>
/// <param name="Channel">The window channel the families compare (0: the normalised beat).</param>
/// <param name="MinCorrelation">A beat joins the family it correlates best with when the correlation is at least this.</param>
/// <param name="Templates">Families kept per stream; a new one replaces the one with the fewest beats.</param>
/// <param name="MinBeats">A family votes once it holds this many beats (this one included).</param>
/// <param name="Majority">The share of a family's calls (more than this) whose label overrules a beat's own call.</param>
public sealed record BeatFamilyRule(int Channel, double MinCorrelation, int Templates, int MinBeats, double Majority)
{
    /// <summary>Checks that the values make a usable rule.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Channel < 0 || Templates < 1 || MinBeats < 1)
        {
            throw new ArgumentException($"A family rule needs a channel of 0 or more, 1 or more templates and 1 or more beats; got {Channel}, {Templates}, {MinBeats}.");
        }

        if (!(MinCorrelation is >= -1 and <= 1) || !(Majority is >= 0.5 and < 1))
        {
            throw new ArgumentException($"A family rule needs a correlation in [-1, 1] and a majority in [0.5, 1); got {MinCorrelation} and {Majority}.");
        }
    }
}

/// <summary>What a beat's family says, once the beat's own call is counted (<see cref="MorphologyFamilies.Vote"/>).</summary>
public enum FamilyVerdict
{
    /// <summary>The family has too few beats, or no majority: the call stands.</summary>
    None,

    /// <summary>More than the majority of the family's calls are V: the beat is V, whatever it was called.</summary>
    Ventricular,

    /// <summary>Fewer than 1 − the majority of the family's calls are V: a V call becomes N; other calls stand.</summary>
    NotVentricular,
}

/// <summary>
/// One stream's morphology families, as Holter systems keep them: beats of one shape in one patient share their origin, so a
/// call that disagrees with the majority of its family's calls is overruled.
/// </summary>
/// <remarks>
/// Each beat's window (mean removed) joins the family whose template it correlates best with, when the correlation reaches
/// <see cref="BeatFamilyRule.MinCorrelation"/>; the template then moves to the running mean of its beats. Otherwise the beat
/// starts a family, replacing the one with the fewest beats (the first such) once <see cref="BeatFamilyRule.Templates"/> are
/// kept. Each family counts its beats' V and other calls, this beat's included; from <see cref="BeatFamilyRule.MinBeats"/>
/// beats on, a V call in a family whose V share is under 1 − majority becomes N, and another call in a family whose V share
/// is over the majority becomes V (<see cref="Apply"/>). This is training/beats/recipe.py's <c>morphology_families</c>, in
/// double precision.
/// Beats must be voted in stream order; one instance per stream; not thread-safe. Voting does not allocate.
/// </remarks>
public sealed class MorphologyFamilies
{
    private readonly BeatFamilyRule _rule;
    private readonly int _length;
    private readonly double[] _templates; // _rule.Templates × _length, running means of mean-removed windows
    private readonly double[] _norms; // each template's squared norm, kept with it
    private readonly int[] _counts;
    private readonly int[] _ventricular;
    private readonly double[] _x;
    private int _families;

    /// <summary>Creates the families of one stream.</summary>
    /// <param name="rule">The card's rule.</param>
    /// <param name="windowSamples">Samples of the compared channel per beat.</param>
    /// <exception cref="ArgumentException">The rule is invalid or the window is empty.</exception>
    public MorphologyFamilies(BeatFamilyRule rule, int windowSamples)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSamples, 1);
        _rule = rule;
        _length = windowSamples;
        _templates = new double[rule.Templates * windowSamples];
        _norms = new double[rule.Templates];
        _counts = new int[rule.Templates];
        _ventricular = new int[rule.Templates];
        _x = new double[windowSamples];
    }

    /// <summary>The rule the families follow.</summary>
    public BeatFamilyRule Rule => _rule;

    /// <summary>Families held now.</summary>
    public int Count => _families;

    /// <summary>Beats voted so far.</summary>
    public long Beats { get; private set; }

    /// <summary>Forgets every family.</summary>
    public void Reset()
    {
        Array.Clear(_templates);
        Array.Clear(_norms);
        Array.Clear(_counts);
        Array.Clear(_ventricular);
        _families = 0;
        Beats = 0;
    }

    /// <summary>Adds a beat and its call to its family and returns what the family says (see <see cref="FamilyVerdict"/>).</summary>
    /// <param name="window">The beat's compared channel (<see cref="BeatFamilyRule.Channel"/>), <c>windowSamples</c> values.</param>
    /// <param name="calledVentricular">Whether the beat's call (before the vote) is V.</param>
    /// <returns>The family's verdict.</returns>
    /// <exception cref="ArgumentException">The window has another length.</exception>
    public FamilyVerdict Vote(ReadOnlySpan<float> window, bool calledVentricular)
    {
        if (window.Length != _length)
        {
            throw new ArgumentException($"A family window holds {_length} samples; got {window.Length}.", nameof(window));
        }

        double sum = 0;
        for (int k = 0; k < _length; k++)
        {
            sum += window[k];
        }

        double mean = sum / _length, xx = 0;
        for (int k = 0; k < _length; k++)
        {
            _x[k] = window[k] - mean;
            xx += _x[k] * _x[k];
        }

        double nx = Math.Sqrt(xx);
        int best = -1;
        double bestCorrelation = -2;
        for (int f = 0; f < _families; f++)
        {
            var t = _templates.AsSpan(f * _length, _length);
            double dot = 0;
            for (int k = 0; k < _length; k++)
            {
                dot += _x[k] * t[k];
            }

            double c = nx > 0 && _norms[f] > 0 ? dot / (nx * Math.Sqrt(_norms[f])) : 0;
            if (c > bestCorrelation)
            {
                best = f;
                bestCorrelation = c;
            }
        }

        if (bestCorrelation < _rule.MinCorrelation)
        {
            best = _families < _rule.Templates ? _families++ : FewestBeats();
            _counts[best] = 0;
            _ventricular[best] = 0;
            _x.CopyTo(_templates.AsSpan(best * _length, _length));
        }

        int n = ++_counts[best];
        var template = _templates.AsSpan(best * _length, _length);
        double norm = 0;
        for (int k = 0; k < _length; k++)
        {
            template[k] += (_x[k] - template[k]) / n;
            norm += template[k] * template[k];
        }

        _norms[best] = norm;
        if (calledVentricular)
        {
            _ventricular[best]++;
        }

        Beats++;
        if (n < _rule.MinBeats)
        {
            return FamilyVerdict.None;
        }

        double share = (double)_ventricular[best] / n;
        return share > _rule.Majority ? FamilyVerdict.Ventricular
            : share < 1 - _rule.Majority ? FamilyVerdict.NotVentricular
            : FamilyVerdict.None;
    }

    /// <summary>Whether a beat ends up called V, given its call and its family's verdict.</summary>
    /// <param name="calledVentricular">Whether the beat's call is V.</param>
    /// <param name="verdict">Its family's verdict.</param>
    /// <returns>True for V; false when a V call became N, or a non-V call stands (then the call is unchanged).</returns>
    public static bool Apply(bool calledVentricular, FamilyVerdict verdict) => verdict switch
    {
        FamilyVerdict.Ventricular => true,
        FamilyVerdict.NotVentricular => false,
        _ => calledVentricular,
    };

    private int FewestBeats()
    {
        int fewest = 0;
        for (int f = 1; f < _families; f++)
        {
            if (_counts[f] < _counts[fewest])
            {
                fewest = f;
            }
        }

        return fewest;
    }
}
