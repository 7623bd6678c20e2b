using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// DiscoPOP, log-ratio modulated loss (Chris Lu et al. 2024, https://arxiv.org/abs/2406.08414; TRL "discopop"):
/// with z = βh and m = σ(z/τ), <c>loss = (1−m)(−log σ(z)) + m·exp(−z)</c>.
/// Intuition: a discovered blend of the logistic (DPO) loss for negative margins and the exponential loss for
/// positive ones, switched smoothly by the margin itself.
/// m·exp(−z) is computed as exp(log σ(z/τ) − z), so neither factor overflows.
/// </summary>
public sealed class DiscoPop : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.05);
    private static readonly NumberParameter TauParam = new("tau", 0.05, "temperature τ of the modulation σ(z/τ)", Interval.Positive);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "discopop", "DiscoPOP: log-ratio modulated loss", "https://arxiv.org/abs/2406.08414",
        "z = beta h, m = s(z/tau): (1-m)(-ls z) + m exp(-z)",
        [BetaParam, TauParam],
        p => new DiscoPop(p.Get(BetaParam), p.Get(TauParam)));

    /// <summary>Creates DiscoPOP.</summary>
    public DiscoPop(double beta, double tau)
    {
        Beta = BetaParam.Check(Id, beta);
        Tau = TauParam.Check(Id, tau);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Modulation temperature τ.</summary>
    public double Tau { get; }

    /// <inheritdoc />
    public string Id => "discopop";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var z = Beta * (cw - cl);
        var logistic = TorchSharp.torch.sigmoid(-z / Tau) * -F.logsigmoid(z); // (1 − m)(−log σ(z))
        var exponential = StableMath.Exp(F.logsigmoid(z / Tau) - z); // m·exp(−z)
        return new ObjectiveOutput(logistic + exponential, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
