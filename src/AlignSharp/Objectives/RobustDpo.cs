using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Provably robust DPO (Chowdhury et al. 2024, https://arxiv.org/abs/2403.00409); not Gallego's "refined DPO":
/// <c>loss = [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1−2ε)</c>.
/// Intuition: an unbiased correction for labels flipped at rate ε: averaged over the noise, it equals the DPO
/// loss on the clean labels.
/// </summary>
public sealed class RobustDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter EpsParam = new("label_smoothing", 0.1,
        "label noise rate ε (< 0.5)", new Interval(0, 0.5, false, true));

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "robust_dpo", "Robust DPO (Chowdhury et al.; unbiased under label noise)", "https://arxiv.org/abs/2403.00409",
        "[-(1-e)ls(beta h) + e ls(-beta h)]/(1-2e)",
        [BetaParam, EpsParam],
        p => new RobustDpo(p.Get(BetaParam), p.Get(EpsParam)));

    /// <summary>Creates robust DPO.</summary>
    public RobustDpo(double beta, double labelSmoothing)
    {
        Beta = BetaParam.Check(Id, beta);
        LabelSmoothing = EpsParam.Check(Id, labelSmoothing);
    }

    /// <summary>Temperature β.</summary>
    public double Beta { get; }

    /// <summary>Noise rate ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "robust_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var z = Beta * (cw - cl);
        var e = LabelSmoothing;
        var losses = (-(1 - e) * F.logsigmoid(z) + e * F.logsigmoid(-z)) / (1 - 2 * e);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
