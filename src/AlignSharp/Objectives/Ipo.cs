namespace AlignSharp.Objectives;

/// <summary>
/// Identity Preference Optimization, ΨPO with Ψ = identity (Azar et al. 2023, https://arxiv.org/abs/2310.12036):
/// <c>loss = (h' − 1/(2τ))²</c>, τ passed as beta; h' = cw/nw − cl/nl when length_normalized (TRL, confirmed
/// with the authors), else h = cw − cl (original DPO repository).
/// Intuition: regress the log-ratio margin onto a finite target 1/(2τ) instead of pushing it without bound,
/// which keeps the policy from over-fitting deterministic preferences.
/// </summary>
public sealed class Ipo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = new("beta", 0.1, "τ, the regularisation strength (target margin 1/(2τ))", Interval.Positive);
    private static readonly FlagParameter NormalizedParam = new("length_normalized", true,
        "divide each log-ratio by its completion length (TRL) instead of using sums (original DPO repository)");

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "ipo", "Identity Preference Optimization", "https://arxiv.org/abs/2310.12036",
        "(h' - 1/(2 beta))^2, h' = cw/nw - cl/nl if length_normalized else h",
        [BetaParam, NormalizedParam],
        p => new Ipo(p.Get(BetaParam), p.Get(NormalizedParam)));

    /// <summary>Creates IPO.</summary>
    public Ipo(double beta, bool lengthNormalized)
    {
        Beta = BetaParam.Check(Id, beta);
        LengthNormalized = lengthNormalized;
    }

    /// <summary>τ.</summary>
    public double Beta { get; }

    /// <summary>Whether log-ratios are divided by completion lengths.</summary>
    public bool LengthNormalized { get; }

    /// <inheritdoc />
    public string Id => "ipo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LengthNormalized ? LogProbReduction.Mean : LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        if (LengthNormalized)
        {
            var (nw, nl) = PairInputs.Lengths(s, Id);
            cw = cw / nw;
            cl = cl / nl;
        }
        var losses = (cw - cl - 1.0 / (2 * Beta)).square();
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
