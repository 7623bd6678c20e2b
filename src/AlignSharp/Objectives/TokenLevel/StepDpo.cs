namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Step-DPO (Lai et al. 2024, https://arxiv.org/abs/2406.18629):
/// <c>loss = −log σ(β [(S(lp_w) − S(lr_w)) − (S(lp_l) − S(lr_l))])</c> over the tokens of one reasoning step:
/// the correct prefix steps s_1..s_{k−1} are appended to the prompt, the completions are the winning and losing next
/// step s_win / s_lose.
/// Intuition: credit lands on the first wrong step instead of being spread over a whole solution.
/// It requests nothing beyond the sums: with the prefix in the prompt, the completion sums the trainer computes
/// are exactly the step's (the trainer's fast path). Per-token inputs, when given (vector files), are summed
/// over their masks.
/// </summary>
public sealed class StepDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.4);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "step_dpo", "Step-DPO: DPO on the next reasoning step after a correct prefix",
        "https://arxiv.org/abs/2406.18629",
        "DPO(S(lp_w,m_w), S(lr_w,m_w), S(lp_l,m_l), S(lr_l,m_l)); completion = one step, prefix steps in the prompt",
        [BetaParam],
        p => new StepDpo(p.Get(BetaParam)))
    {
        Data = "`steps` records (prompt, prefix steps, chosen/rejected next step); the prefix is appended to the "
            + "prompt",
    };

    /// <summary>Creates Step-DPO.</summary>
    public StepDpo(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "step_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        if (s.Inputs.Find(TokenLevelInputs.PairTokens) is null)
        {
            var (rw, rl) = s.RequireReference(Id);
            return TokenInputs.Dpo(Beta, s.PolicyChosen, rw, s.PolicyRejected, rl);
        }
        var (w, l) = TokenInputs.Sides(s, Id);
        return TokenInputs.MaskedDpo(Beta, w, l, w.Mask, l.Mask);
    }
}
