using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// AlphaPO (Gupta et al. 2025, https://arxiv.org/abs/2501.03884; TRL CPOTrainer "alphapo"):
/// <c>r(a) = −(β/α) expm1(−α a)</c>, <c>loss = −log σ(r(aw) − r(al) − γ)</c> (reference-free).
/// Intuition: SimPO with a reshaped reward: α &gt; 0 makes the reward saturate for likely completions and steepen
/// for unlikely ones; α → 0 recovers SimPO's β·a.
/// The exponential continues linearly past e^60 (<see cref="StableMath.Expm1"/>) so very negative averages stay finite.
/// </summary>
public sealed class AlphaPo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(2.5);
    private static readonly NumberParameter GammaParam = new("gamma", 0.1, "absolute target margin γ", Interval.Any);
    private static readonly NumberParameter AlphaParam = new("alpha", 0.25, "reward shape α (≠ 0; α → 0 is SimPO)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "alphapo", "AlphaPO: SimPO with an α-shaped reward", "https://arxiv.org/abs/2501.03884",
        "r(a) = -(beta/alpha) expm1(-alpha a); -ls(r(aw) - r(al) - gamma)",
        [BetaParam, GammaParam, AlphaParam],
        p => new AlphaPo(p.Get(BetaParam), p.Get(GammaParam), p.Get(AlphaParam)));

    /// <summary>Creates AlphaPO.</summary>
    public AlphaPo(double beta, double gamma, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Gamma = GammaParam.Check(Id, gamma);
        Alpha = AlphaParam.Check(Id, alpha);
        if (alpha == 0) throw new ObjectiveException($"objective '{Id}': parameter 'alpha' must be non-zero (use simpo for α = 0)");
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Absolute margin γ.</summary>
    public double Gamma { get; }

    /// <summary>Reward shape α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "alphapo";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        var (qw, ql) = (Reward(aw), Reward(al));
        var losses = -F.logsigmoid(qw - ql - Gamma);
        return new ObjectiveOutput(losses, qw.detach(), ql.detach());
    }

    private Tensor Reward(Tensor a) => -(Beta / Alpha) * StableMath.Expm1(-Alpha * a);
}
