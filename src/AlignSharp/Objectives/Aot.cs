using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Alignment via Optimal Transport, paired (Melnyk et al. 2024, https://arxiv.org/abs/2406.05882; TRL "aot"):
/// cDPO form on <c>δ_k = sort(pw − pl)_k − sort(rw − rl)_k</c>, the k-th smallest policy margin against the k-th
/// smallest reference margin within the batch.
/// Intuition: enforce first-order stochastic dominance of the policy's margin distribution over the
/// reference's, instead of pair by pair. Losses are indexed by rank k, not by pair.
/// </summary>
public sealed class Aot : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.01);
    private static readonly NumberParameter EpsParam = CommonParameters.LabelSmoothing(0.0);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "aot", "Alignment via Optimal Transport (paired)", "https://arxiv.org/abs/2406.05882",
        "cDPO form on sort(pw - pl) - sort(rw - rl) (k-th vs k-th within the batch)",
        [BetaParam, EpsParam],
        p => new Aot(p.Get(BetaParam), p.Get(EpsParam)));

    /// <summary>Creates AOT.</summary>
    public Aot(double beta, double labelSmoothing)
    {
        Beta = BetaParam.Check(Id, beta);
        LabelSmoothing = EpsParam.Check(Id, labelSmoothing);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "aot";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (rw, rl) = s.RequireReference(Id);
        var policyMargins = sort(s.PolicyChosen - s.PolicyRejected, 0).values; // (B), ascending
        var referenceMargins = sort(rw - rl, 0).values; // (B), ascending
        var losses = Cdpo.Smoothed(Beta * (policyMargins - referenceMargins), LabelSmoothing);
        return new ObjectiveOutput(losses, (Beta * (s.PolicyChosen - rw)).detach(), (Beta * (s.PolicyRejected - rl)).detach());
    }
}
