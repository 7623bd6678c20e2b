using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// BMC, "Bridging and Modeling Correlations in Pairwise Data for DPO" (Jiang et al. 2024,
/// https://arxiv.org/abs/2408.07471): DPO on weighted sums <c>W(lp) = Σ_t m[t] w[t] lp[t]</c>,
/// <c>w[t] = 1 + d[t]·min(exp(−lp[t]), δ)</c>, d = the diff mask of tokens the minimal edit changed; each model
/// weights its own log-probs (policy weights from lp, reference weights from lr); weights carry no gradient.
/// Intuition: the tokens that make the pseudo-winning response better are few; weight them up, more so the less
/// confident the model is about them.
/// </summary>
public sealed class Bmc : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter DeltaParam = new("delta", 2.0,
        "cap δ of the extra weight exp(−lp) of a modified token", Interval.Positive);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "bmc", "BMC: DPO with confidence-weighted edited tokens", "https://arxiv.org/abs/2408.07471",
        "DPO(Wp_w, Wr_w, Wp_l, Wr_l), W(lp) = sum_t m w lp, w = 1 + d min(exp(-lp), delta) (detached, own log-probs)",
        [BetaParam, DeltaParam],
        p => new Bmc(p.Get(BetaParam), p.Get(DeltaParam)))
    {
        Data = "`edit` records (prompt, chosen = minimal edit of rejected); diff masks from the two token sequences",
    };

    /// <summary>
    /// 1 on the tokens the minimal edit changed (chosen: inserted or replaced; rejected: deleted or replaced;
    /// stopwords 0), (B, T) per side.
    /// </summary>
    public static CompletionAnnotation DiffMask { get; } =
        new("diff_mask", 2, "1 on tokens the edit changed (chosen: insert/replace, rejected: delete/replace; not "
            + "stopwords)");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [TokenLevelInputs.PairTokens, DiffMask];

    /// <summary>Creates BMC.</summary>
    public Bmc(double beta, double delta)
    {
        Beta = BetaParam.Check(Id, beta);
        Delta = DeltaParam.Check(Id, delta);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Weight cap δ.</summary>
    public double Delta { get; }

    /// <inheritdoc />
    public string Id => "bmc";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (w, l) = TokenInputs.Sides(s, Id);
        var d = s.Get(DiffMask, Id);
        var dw = TokenInputs.Mask(Id, DiffMask.ChosenKey, d.Chosen, 2, w.Mask);
        var dl = TokenInputs.Mask(Id, DiffMask.RejectedKey, d.Rejected, 2, l.Mask);
        return TokenInputs.Dpo(Beta, Weighted(w.Policy, w.Mask, dw), Weighted(w.Reference!, w.Mask, dw),
            Weighted(l.Policy, l.Mask, dl), Weighted(l.Reference!, l.Mask, dl));
    }

    /// <summary>Σ_t m w lp with w = 1 + d·min(exp(−lp), δ) computed from the detached, masked log-probs.</summary>
    private Tensor Weighted(Tensor lp, Tensor mask, Tensor diff)
    {
        var safe = TokenInputs.Select(mask, lp.detach()); // padding never reaches exp
        var weight = 1 + TokenInputs.Select(diff, (-safe).exp().clamp_max(Delta)); // (B, T)
        return TokenInputs.Sum(weight * lp, mask);
    }
}
