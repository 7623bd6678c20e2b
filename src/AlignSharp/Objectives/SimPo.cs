using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// SimPO (Meng et al. 2024, https://arxiv.org/abs/2405.14734):
/// <c>loss = −log σ(β (aw − al) − γ)</c>, aw = pw/nw, al = pl/nl (reference-free).
/// Intuition: the length-averaged log-prob is the reward the model uses at generation time; require the chosen
/// one to beat the rejected one by an absolute margin γ, with no reference model.
/// </summary>
public sealed class SimPo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(2.0);
    private static readonly NumberParameter GammaParam = new("gamma", 1.0, "absolute target margin γ (not γ/β)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "simpo", "Simple Preference Optimization (reference-free, length-averaged)", "https://arxiv.org/abs/2405.14734",
        "-ls(beta (aw - al) - gamma)",
        [BetaParam, GammaParam],
        p => new SimPo(p.Get(BetaParam), p.Get(GammaParam)));

    /// <summary>Creates SimPO.</summary>
    public SimPo(double beta, double gamma)
    {
        Beta = BetaParam.Check(Id, beta);
        Gamma = GammaParam.Check(Id, gamma);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Absolute margin γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public string Id => "simpo";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        var losses = -F.logsigmoid(Beta * (aw - al) - Gamma);
        return new ObjectiveOutput(losses, (Beta * aw).detach(), (Beta * al).detach());
    }
}
