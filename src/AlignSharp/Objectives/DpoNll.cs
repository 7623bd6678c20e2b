using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// DPO + NLL, from Iterative Reasoning Preference Optimization (Pang et al. 2024, https://arxiv.org/abs/2404.19733;
/// TRL's <c>rpo_alpha</c>; not Relative PO, which is <c>relative_po</c>):
/// <c>loss = −log σ(βh) + α (−pw/nw)</c>.
/// Intuition: the NLL term on the chosen response stops DPO from lowering the chosen likelihood while the
/// margin grows.
/// </summary>
public sealed class DpoNll : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 1.0, "weight α of the chosen NLL (per token)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dpo_nll", "DPO + chosen NLL (Iterative Reasoning PO, TRL rpo_alpha)", "https://arxiv.org/abs/2404.19733",
        "dpo + alpha (-pw/nw)",
        [BetaParam, AlphaParam],
        p => new DpoNll(p.Get(BetaParam), p.Get(AlphaParam)));

    /// <summary>Creates DPO+NLL.</summary>
    public DpoNll(double beta, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>NLL weight α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "dpo_nll";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (nw, _) = PairInputs.Lengths(s, Id);
        var losses = -F.logsigmoid(Beta * (cw - cl)) + Alpha * (-s.PolicyChosen / nw);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
