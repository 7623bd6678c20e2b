using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Length-regularized DPO, R-DPO (Park et al. 2024, https://arxiv.org/abs/2403.19159):
/// <c>loss = −log σ(βh + α (nw − nl))</c>.
/// Intuition: a longer chosen response already earns margin α per extra token, so the policy gains less from
/// simply preferring length (verbosity exploitation).
/// </summary>
public sealed class LengthRegularizedDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 0.05, "length regulariser α per token of length difference (0 is DPO)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "length_regularized_dpo", "R-DPO: DPO with a length regulariser", "https://arxiv.org/abs/2403.19159",
        "-ls(beta h + alpha (nw - nl))",
        [BetaParam, AlphaParam],
        p => new LengthRegularizedDpo(p.Get(BetaParam), p.Get(AlphaParam)));

    /// <summary>Creates R-DPO.</summary>
    public LengthRegularizedDpo(double beta, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Length regulariser α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "length_regularized_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (nw, nl) = PairInputs.Lengths(s, Id);
        var losses = -F.logsigmoid(Beta * (cw - cl) + Alpha * (nw - nl).to(cw.dtype));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
