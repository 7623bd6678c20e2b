using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Iterative length-regularized DPO, iLR-DPO (Liu et al. 2024, https://arxiv.org/abs/2406.11817):
/// <c>loss = −log σ(βh + α(nw − nl))</c>, identical to <c>length_regularized_dpo</c>; the "iterative" part is the
/// training loop (each iteration samples new pairs from the current policy, labels them with a reward model and
/// retrains). α has no published default and must be set.
/// Intuition: keep the gains of iterated DPO without letting the policy buy reward with length.
/// </summary>
public sealed class IlrDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 0.05,
        "length regulariser α per token of length difference (no published default)", Interval.Any)
    {
        Required = true,
    };

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "ilr_dpo", "iLR-DPO: iterative length-regularized DPO (the loss of R-DPO)", "https://arxiv.org/abs/2406.11817",
        "-ls(beta h + alpha (nw - nl)) (= length_regularized_dpo)",
        [BetaParam, AlphaParam],
        p => new IlrDpo(p.Get(BetaParam), p.Get(AlphaParam)))
    {
        Data = "any pairs; iterate: sample from the current policy, label with a reward model, retrain",
    };

    /// <summary>Creates iLR-DPO.</summary>
    public IlrDpo(double beta, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Length regulariser α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "ilr_dpo";

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
