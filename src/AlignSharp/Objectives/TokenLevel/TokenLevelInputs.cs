namespace AlignSharp.Objectives.TokenLevel;

/// <summary>The requests the token-level objectives share (records: equal requests are satisfied once).</summary>
internal static class TokenLevelInputs
{
    /// <summary>Per-token policy and reference log-probs of chosen and rejected completions, with masks.</summary>
    public static CompletionTokenLogProbs PairTokens { get; } = new();

    /// <summary>Per-token log-probs of one response per row.</summary>
    public static ResponseTokenLogProbs SingleTokens { get; } = new();
}
