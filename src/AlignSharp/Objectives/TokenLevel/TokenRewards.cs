using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// A catalog entry for a per-token output that is not a loss (e.g. <c>token_rewards</c>): id, description, paper,
/// formula and parameters, listed beside the objectives in docs and <c>objectives list</c>.
/// </summary>
public sealed record OutputEntry(
    string Id, string Description, string Paper, string Formula, IReadOnlyList<ObjectiveParameter> Parameters);

/// <summary>Per-token implicit rewards (B, T), their running sums (B, T) and the sequence rewards (B).</summary>
public sealed record TokenRewardsResult(Tensor TokenRewards, Tensor CumulativeRewards, Tensor SequenceRewards);

/// <summary>
/// DPO's implicit reward read token by token, "From r to Q*" (Rafailov et al. 2024, https://arxiv.org/abs/2404.12358):
/// <c>r[t] = β (lp[t] − lr[t])</c> where m = 1 (else 0), <c>cumulative[t] = m[t] Σ_{s≤t} r[s]</c> (the implicit Q up
/// to the state value), <c>sequence = Σ_t r[t] = β (pw − rw)</c>, the DPO sequence reward. Not a loss: a reading of
/// which tokens a trained policy credits.
/// </summary>
public static class TokenRewards
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    public static OutputEntry Entry { get; } = new(
        "token_rewards", "Token-level implicit rewards of DPO (\"From r to Q*\")", "https://arxiv.org/abs/2404.12358",
        "r[t] = beta (lp[t] - lr[t]) (m = 1, else 0); cumulative[t] = m[t] sum_{s<=t} r[s]; sequence = sum_t r[t]",
        [BetaParam]);

    /// <summary>Computes the rewards from per-token log-probs (B, T) and the mask (B, T, 0/1 or bool).</summary>
    public static TokenRewardsResult Compute(Tensor policy, Tensor reference, Tensor mask, double beta)
    {
        beta = BetaParam.Check(Entry.Id, beta);
        var m = mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
        var r = TokenInputs.Select(m, beta * (policy - reference)); // (B, T)
        var cumulative = TokenInputs.Select(m, r.cumsum(1));
        return new TokenRewardsResult(r, cumulative, r.sum(1));
    }

    /// <summary>Computes from the golden keys <c>policy_token_logps</c>, <c>reference_token_logps</c>,
    /// <c>mask</c>.</summary>
    public static TokenRewardsResult Compute(PairStats s, ObjectiveParams parameters)
    {
        parameters.Objective = Entry.Id;
        double beta = parameters.Get(BetaParam);
        var unknown = parameters.Unread.Order(StringComparer.Ordinal).FirstOrDefault();
        if (unknown is not null)
            throw new ObjectiveException($"objective '{Entry.Id}' has no parameter '{unknown}' (known: beta)");
        var tokens = s.Get(TokenLevelInputs.SingleTokens, Entry.Id);
        var reference = tokens.Reference
            ?? throw new ObjectiveException(
                $"objective '{Entry.Id}' needs the per-token input 'reference_token_logps'");
        var mask = TokenInputs.Mask(Entry.Id, "mask", tokens.Mask, 2, rows: s.Count);
        return Compute(TokenInputs.Values(Entry.Id, "policy_token_logps", tokens.Policy, mask),
            TokenInputs.Values(Entry.Id, "reference_token_logps", reference, mask), mask, beta);
    }
}
