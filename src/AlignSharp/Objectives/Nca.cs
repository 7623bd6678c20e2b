using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Pairwise Noise Contrastive Alignment (Chen et al. 2024, https://arxiv.org/abs/2402.05369; TRL "nca_pair"):
/// <c>loss = −log σ(β cw) − ½ log σ(−β cw) − ½ log σ(−β cl)</c>.
/// Intuition: classify each response's reward in absolute terms rather than only their difference, so the
/// chosen likelihood itself is pushed up (not just the margin).
/// </summary>
public sealed class Nca : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "nca", "Noise Contrastive Alignment (pairwise)", "https://arxiv.org/abs/2402.05369",
        "-ls(beta cw) - 0.5 ls(-beta cw) - 0.5 ls(-beta cl)",
        [BetaParam],
        p => new Nca(p.Get(BetaParam)));

    /// <summary>Creates NCA.</summary>
    public Nca(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "nca";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (zw, zl) = (Beta * cw, Beta * cl);
        var losses = -F.logsigmoid(zw) - 0.5 * F.logsigmoid(-zw) - 0.5 * F.logsigmoid(-zl);
        return new ObjectiveOutput(losses, zw.detach(), zl.detach());
    }
}
