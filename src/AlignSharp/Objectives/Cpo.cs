using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Contrastive Preference Optimization (Xu et al. 2024, https://arxiv.org/abs/2401.08417; TRL CPOTrainer):
/// <c>loss = −log σ(β (pw − pl)) + α (−pw/nw)</c> (reference-free).
/// Intuition: DPO with a uniform reference plus a behaviour-cloning NLL term on the chosen response that keeps
/// the policy close to the preferred data.
/// </summary>
public sealed class Cpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 1.0, "weight α of the chosen NLL (per token)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "cpo", "Contrastive Preference Optimization (reference-free + NLL)", "https://arxiv.org/abs/2401.08417",
        "-ls(beta (pw - pl)) + alpha (-pw/nw)",
        [BetaParam, AlphaParam],
        p => new Cpo(p.Get(BetaParam), p.Get(AlphaParam)));

    /// <summary>Creates CPO.</summary>
    public Cpo(double beta, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>NLL weight α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "cpo";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (nw, _) = PairInputs.Lengths(s, Id);
        var (pw, pl) = (s.PolicyChosen, s.PolicyRejected);
        var losses = -F.logsigmoid(Beta * (pw - pl)) + Alpha * (-pw / nw);
        return new ObjectiveOutput(losses, (Beta * pw).detach(), (Beta * pl).detach());
    }
}
