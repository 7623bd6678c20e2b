using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Direct Multi-turn Preference Optimization (Shi et al. 2024, https://arxiv.org/abs/2406.14868):
/// <c>loss = DPO(W(lp_w), W(lr_w), W(lp_l), W(lr_l))</c>, <c>W(v) = Σ_t m[t] φ(j_t, T) v[t]</c>, j_t the 0-based agent
/// turn of token t, T the trajectory's number of agent turns,
/// <c>φ(j, T) = γ^j (1 − γ^(T−j)) / (1 − γ^T)</c> (γ &lt; 1) or <c>(T − j)/T</c> (γ = 1); the same weights for
/// policy and reference.
/// Intuition: a discounted state-action occupancy in place of the policy's KL term, so early turns of a long
/// trajectory weigh more and trajectories of different lengths compare fairly.
/// </summary>
public sealed class Dmpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter GammaParam = new("gamma", 0.7,
        "discount γ of later agent turns (1 = linear decay)", new Interval(0, 1, true, false));

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dmpo", "DMPO: multi-turn DPO with discounted turn weights", "https://arxiv.org/abs/2406.14868",
        "DPO(W(lp_w), W(lr_w), W(lp_l), W(lr_l)), W(v) = sum_t m phi(j_t,T) v, "
        + "phi = gamma^j (1-gamma^(T-j))/(1-gamma^T) ((T-j)/T at gamma 1)",
        [BetaParam, GammaParam],
        p => new Dmpo(p.Get(BetaParam), p.Get(GammaParam)))
    {
        Data = "`trajectory` records (task, chosen/rejected message lists); assistant turns are labels, numbered by "
            + "turn",
    };

    /// <summary>0-based agent-turn index of each token (-1 where m = 0), (B, T) per side.</summary>
    public static CompletionAnnotation TurnIds { get; } =
        new("turn_ids", 2, "0-based agent-turn index of each completion token (-1 where m = 0)");

    /// <summary>Agent turns of each trajectory (greater than its largest turn id), (B) per side.</summary>
    public static CompletionAnnotation NumTurns { get; } =
        new("num_turns", 1, "agent turns of the trajectory (> max turn id; more when trailing turns were cut)");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [TokenLevelInputs.PairTokens, TurnIds, NumTurns];

    /// <summary>Creates DMPO.</summary>
    public Dmpo(double beta, double gamma)
    {
        Beta = BetaParam.Check(Id, beta);
        Gamma = GammaParam.Check(Id, gamma);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Turn discount γ in (0, 1].</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public string Id => "dmpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (w, l) = TokenInputs.Sides(s, Id);
        var ids = s.Get(TurnIds, Id);
        var turns = s.Get(NumTurns, Id);
        var phiW = Weights(w, ids.Chosen, turns.Chosen, "chosen");
        var phiL = Weights(l, ids.Rejected, turns.Rejected, "rejected");
        return TokenInputs.Dpo(Beta,
            TokenInputs.Sum(phiW * w.Policy, w.Mask), TokenInputs.Sum(phiW * w.Reference!, w.Mask),
            TokenInputs.Sum(phiL * l.Policy, l.Mask), TokenInputs.Sum(phiL * l.Reference!, l.Mask));
    }

    /// <summary>φ(j_t, T) per token (B, T), 0 where the mask is 0.</summary>
    private Tensor Weights(TokenSide side, Tensor turnIds, Tensor numTurns, string name)
    {
        var j = TokenInputs.Integers(Id, $"{name}_turn_ids", turnIds, 2, side.Mask, side.Mask, min: 0); // (B, T)
        var turns = TokenInputs.Integers(Id, $"{name}_num_turns", numTurns, 1, side.Mask, min: 1); // (B)
        var maxId = TokenInputs.Select(side.Mask, j).amax(1); // (B)
        if (maxId.ge(turns).any().item<bool>())
            throw new ObjectiveException(
                $"objective '{Id}': input '{name}_num_turns' must exceed every turn id of its row");
        var dtype = side.Policy.dtype;
        var jf = j.to(dtype);
        var tf = turns.unsqueeze(1).to(dtype).expand_as(jf); // (B) -> (B, T)
        double lnGamma = Math.Log(Gamma);
        var phi = Gamma == 1.0
            ? (tf - jf) / tf
            // 1 − γ^x = −expm1(x ln γ)
            : (jf * lnGamma).exp() * (-((tf - jf) * lnGamma).expm1()) / (-(tf * lnGamma).expm1());
        return TokenInputs.Select(side.Mask, phi);
    }
}
