using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Length-normalised DPO (TRL "sigmoid_norm"; DPO of https://arxiv.org/abs/2305.18290 on per-token log-ratios):
/// <c>loss = −log σ(β (cw/nw − cl/nl))</c>.
/// Intuition: DPO on per-token log-ratios, so long completions do not dominate the margin.
/// </summary>
public sealed class SigmoidNorm : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sigmoid_norm", "DPO on length-normalised log-ratios", "https://arxiv.org/abs/2305.18290",
        "-ls(beta (cw/nw - cl/nl))",
        [BetaParam],
        p => new SigmoidNorm(p.Get(BetaParam)));

    /// <summary>Creates the objective.</summary>
    public SigmoidNorm(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>Temperature β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "sigmoid_norm";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (nw, nl) = PairInputs.Lengths(s, Id);
        var (mw, ml) = (cw / nw, cl / nl);
        var losses = -F.logsigmoid(Beta * (mw - ml));
        return new ObjectiveOutput(losses, (Beta * mw).detach(), (Beta * ml).detach());
    }
}
