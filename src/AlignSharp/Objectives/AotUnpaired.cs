using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Alignment via Optimal Transport, unpaired (Melnyk et al. 2024, https://arxiv.org/abs/2406.05882; TRL "aot_pair"):
/// cDPO form on <c>δ_k = sort(cw)_k − sort(cl)_k</c>, the k-th smallest chosen log-ratio against the k-th smallest
/// rejected log-ratio within the batch.
/// Intuition: make the distribution of chosen rewards dominate that of rejected rewards, without relying on
/// the pairing. Losses are indexed by rank k, not by pair.
/// </summary>
public sealed class AotUnpaired : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.01);
    private static readonly NumberParameter EpsParam = CommonParameters.LabelSmoothing(0.0);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "aot_unpaired", "Alignment via Optimal Transport (unpaired)", "https://arxiv.org/abs/2406.05882",
        "cDPO form on sort(cw) - sort(cl)",
        [BetaParam, EpsParam],
        p => new AotUnpaired(p.Get(BetaParam), p.Get(EpsParam)));

    /// <summary>Creates unpaired AOT.</summary>
    public AotUnpaired(double beta, double labelSmoothing)
    {
        Beta = BetaParam.Check(Id, beta);
        LabelSmoothing = EpsParam.Check(Id, labelSmoothing);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "aot_unpaired";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var delta = sort(cw, 0).values - sort(cl, 0).values; // (B): k-th vs k-th, ascending
        var losses = Cdpo.Smoothed(Beta * delta, LabelSmoothing);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
