using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Conservative DPO (Mitchell 2023, "A note on DPO with noisy preferences", https://ericmitchell.ai/cdpo.pdf):
/// <c>loss = −(1−ε) log σ(βh) − ε log σ(−βh)</c>, h = cw − cl.
/// Intuition: treat each label as flipped with probability ε, so the loss stops pushing once βh reaches
/// log((1−ε)/ε) instead of driving the margin to infinity.
/// </summary>
public sealed class Cdpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter EpsParam = CommonParameters.LabelSmoothing(0.1);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "cdpo", "Conservative DPO (label-smoothed)", "https://ericmitchell.ai/cdpo.pdf",
        "-(1-e)ls(beta h) - e ls(-beta h)",
        [BetaParam, EpsParam],
        p => new Cdpo(p.Get(BetaParam), p.Get(EpsParam)));

    /// <summary>Creates cDPO.</summary>
    public Cdpo(double beta, double labelSmoothing)
    {
        Beta = BetaParam.Check(Id, beta);
        LabelSmoothing = EpsParam.Check(Id, labelSmoothing);
    }

    /// <summary>Temperature β.</summary>
    public double Beta { get; }

    /// <summary>Flip rate ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "cdpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var losses = Smoothed(Beta * (cw - cl), LabelSmoothing);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }

    /// <summary>The cDPO form −(1−ε) log σ(z) − ε log σ(−z) on a logit z (shared with AOT).</summary>
    internal static Tensor Smoothed(Tensor z, double eps) =>
        eps == 0 ? -F.logsigmoid(z) : -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z);
}
