using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>The f-divergence regularising DPO (Wang et al. 2023, "Beyond Reverse KL", arXiv:2309.16240).</summary>
public enum FDivergence
{
    /// <summary>Reverse KL: f(u) = u (plain DPO).</summary>
    ReverseKl,
    /// <summary>Forward KL: f(u) = −exp(−u).</summary>
    ForwardKl,
    /// <summary>Jensen–Shannon: f(u) = log σ(u).</summary>
    Js,
    /// <summary>α-divergence: f(u) = exp((α−1)u)/(α−1).</summary>
    Alpha,
}

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023, https://arxiv.org/abs/2305.18290), with the
/// f-divergence generalisation of https://arxiv.org/abs/2309.16240:
/// <c>loss = −log σ(β (f(cw) − f(cl)))</c>, cw = pw − rw, cl = pl − rl; f(u) = u gives plain DPO.
/// Intuition: raise the chosen completion's log-ratio to the reference above the rejected one's, with β setting
/// how far from the reference the policy may move.
/// Exponential f (forward KL, α) continue linearly past e^60 (<see cref="StableMath.Exp"/>) so extreme
/// log-ratios stay finite.
/// </summary>
public sealed class Dpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly ChoiceParameter DivergenceParam = new("f_divergence", "reverse_kl",
        "divergence to the reference: reverse_kl (DPO), forward_kl, js, alpha", ["reverse_kl", "forward_kl", "js", "alpha"]);
    private static readonly NumberParameter FAlphaParam = new("f_alpha", 0.5, "α of the α-divergence (≠ 1); used when f_divergence=alpha", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dpo", "Direct Preference Optimization (with f-divergence variants)", "https://arxiv.org/abs/2305.18290",
        "-ls(beta*(f(cw)-f(cl))); f: reverse_kl u, forward_kl -exp(-u), js ls(u), alpha exp((a-1)u)/(a-1)",
        [BetaParam, DivergenceParam, FAlphaParam],
        p => new Dpo(p.Get(BetaParam), ParseDivergence(p.Get(DivergenceParam)), p.Get(FAlphaParam)));

    /// <summary>Creates DPO with temperature <paramref name="beta"/> and the given divergence.</summary>
    public Dpo(double beta, FDivergence divergence = FDivergence.ReverseKl, double fAlpha = 0.5)
    {
        Beta = BetaParam.Check(Id, beta);
        Divergence = divergence;
        FAlpha = FAlphaParam.Check(Id, fAlpha);
        if (divergence == FDivergence.Alpha && fAlpha == 1.0)
            throw new ObjectiveException($"objective '{Id}': parameter 'f_alpha' must differ from 1 (α = 1 is the reverse KL)");
    }

    /// <summary>Temperature β.</summary>
    public double Beta { get; }

    /// <summary>The divergence.</summary>
    public FDivergence Divergence { get; }

    /// <summary>α of the α-divergence.</summary>
    public double FAlpha { get; }

    /// <inheritdoc />
    public string Id => "dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var losses = -F.logsigmoid(Beta * (F_(cw) - F_(cl)));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }

    private Tensor F_(Tensor u) => Divergence switch
    {
        FDivergence.ReverseKl => u,
        FDivergence.ForwardKl => -StableMath.Exp(-u),
        FDivergence.Js => F.logsigmoid(u),
        _ => StableMath.Exp((FAlpha - 1.0) * u) / (FAlpha - 1.0),
    };

    private static FDivergence ParseDivergence(string s) => s switch
    {
        "forward_kl" => FDivergence.ForwardKl,
        "js" => FDivergence.Js,
        "alpha" => FDivergence.Alpha,
        _ => FDivergence.ReverseKl,
    };
}
