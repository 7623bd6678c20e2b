namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Keys and declarations of the per-token inputs shared by the token-level objectives (spec
/// objectives-tokenlevel.md, "Golden vector schema"). The trainer computes the log-probs; masks mark the label
/// tokens of each completion.
/// </summary>
internal static class TokenLevelInputs
{
    /// <summary>Per-token policy log-probs of the chosen completions (B, T_c).</summary>
    public const string PolicyChosen = "policy_chosen_token_logps";

    /// <summary>The per-token inputs of a chosen/rejected pair: policy, reference, mask for both sides.</summary>
    public static IReadOnlyList<ObjectiveInput> PairTokens { get; } =
    [
        Token(PolicyChosen, "per-token policy log-probs of the chosen completion"),
        Token("reference_chosen_token_logps", "per-token reference log-probs of the chosen completion"),
        Token("chosen_mask", "1 on the chosen completion's label tokens"),
        Token("policy_rejected_token_logps", "per-token policy log-probs of the rejected completion"),
        Token("reference_rejected_token_logps", "per-token reference log-probs of the rejected completion"),
        Token("rejected_mask", "1 on the rejected completion's label tokens"),
    ];

    /// <summary>The per-token inputs of single responses: policy, reference, mask (B, T).</summary>
    public static IReadOnlyList<ObjectiveInput> SingleTokens { get; } =
    [
        Token("policy_token_logps", "per-token policy log-probs of the response"),
        Token("reference_token_logps", "per-token reference log-probs of the response"),
        Token("mask", "1 on the response's label tokens"),
    ];

    /// <summary>A (B, T) input the trainer computes.</summary>
    public static ObjectiveInput Token(string key, string description) =>
        new(key, InputSource.Trainer, null, description) { Shape = "(B, T)" };
}
