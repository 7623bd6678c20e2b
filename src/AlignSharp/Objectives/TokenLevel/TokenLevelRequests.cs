using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Per-token annotations of each completion that its data format carries (spec objectives-tokenlevel.md): a value
/// for the chosen and one for the rejected completion, named <c>chosen_{Name}</c> / <c>rejected_{Name}</c> in
/// vector files, e.g. SCDPO's shared-prefix lengths (B), DMPO's turn ids (B, T), SDPO's segment masks (B, T),
/// BMC's diff masks (B, T). Per-token arrays line up with the completion tokens of <see cref="TokenLogProbs"/>.
/// </summary>
/// <param name="Name">The suffix after <c>chosen_</c> / <c>rejected_</c>.</param>
/// <param name="Dims">1 for a value per completion (B), 2 for a value per token (B, T).</param>
/// <param name="Meaning">What the value means.</param>
public sealed record CompletionAnnotation(string Name, int Dims, string Meaning) : InputRequest<PairValues>
{
    /// <summary>Key of the chosen values in vector files.</summary>
    public string ChosenKey => $"chosen_{Name}";

    /// <summary>Key of the rejected values in vector files.</summary>
    public string RejectedKey => $"rejected_{Name}";

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => [ChosenKey, RejectedKey];

    /// <inheritdoc />
    public override string Shape => Dims == 1 ? "(B), (B)" : "(B, Tc), (B, Tr)";

    /// <inheritdoc />
    public override string Description => Meaning;

    /// <inheritdoc />
    public override string Source => "data format (the record's steps, turns or edit, aligned with the tokens)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = !keyed.ContainsKey(ChosenKey) ? ChosenKey : RejectedKey;
        return keyed.TryGetValue(ChosenKey, out var c) && keyed.TryGetValue(RejectedKey, out var r)
            ? new PairValues(c, r) : null;
    }
}

/// <summary>Per-token log-probs of single responses (one per row): policy, reference (or null) and mask, (B,
/// T).</summary>
/// <param name="Policy">Policy log-probs (B, T).</param>
/// <param name="Reference">Reference log-probs (B, T), or null.</param>
/// <param name="Mask">1 on label tokens (B, T).</param>
public sealed record ResponseTokens(Tensor Policy, Tensor? Reference, Tensor Mask);

/// <summary>
/// Per-token log-probs of one response per row (OREO's trajectories, token_rewards), keys
/// <c>policy_token_logps</c>, <c>reference_token_logps</c>, <c>mask</c>.
/// </summary>
public sealed record ResponseTokenLogProbs : InputRequest<ResponseTokens>
{
    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => ["policy_token_logps", "reference_token_logps", "mask"];

    /// <inheritdoc />
    public override string Shape => "(B, T)";

    /// <inheritdoc />
    public override string Description => "per-token policy and reference log-probs of each response, with its mask";

    /// <inheritdoc />
    public override string Source => "trainer (one row per response)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = !keyed.ContainsKey("policy_token_logps") ? "policy_token_logps" : "mask";
        return keyed.TryGetValue("policy_token_logps", out var p) && keyed.TryGetValue("mask", out var m)
            ? new ResponseTokens(p, keyed.GetValueOrDefault("reference_token_logps"), m) : null;
    }
}

/// <summary>OREO's targets: value estimates and state positions (B, T), outcome rewards (B), optional exact KL (B,
/// T).</summary>
/// <param name="Values">V(s_t) for the state before token t (B, T).</param>
/// <param name="StateMask">1 where the state before token t is scored (B, T).</param>
/// <param name="Rewards">Outcome reward R (B).</param>
/// <param name="TokenKl">Per-token KL(π ‖ π_ref) (B, T), or null for the k3 estimate.</param>
public sealed record OreoTargets(Tensor Values, Tensor StateMask, Tensor Rewards, Tensor? TokenKl);

/// <summary>
/// OREO's per-state inputs: the value head's estimates, the state positions (every token, or each step's first
/// token), the outcome reward, and optionally the exact per-token KL; keys <c>values</c>, <c>state_mask</c>,
/// <c>rewards</c>, <c>token_kl</c>.
/// </summary>
public sealed record OreoInputs : InputRequest<OreoTargets>
{
    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => ["values", "state_mask", "rewards", "token_kl"];

    /// <inheritdoc />
    public override string Shape => "(B, T), (B, T), (B), (B, T)";

    /// <inheritdoc />
    public override string Description =>
        "value-head estimates V(s_t), state positions, outcome reward R, optional exact per-token KL";

    /// <inheritdoc />
    public override string Source => "trainer (value head) and data format (state positions, outcome reward)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = new[] { "values", "state_mask", "rewards" }.FirstOrDefault(k => !keyed.ContainsKey(k)) ?? "";
        return missing.Length > 0 ? null
            : new OreoTargets(
                keyed["values"], keyed["state_mask"], keyed["rewards"], keyed.GetValueOrDefault("token_kl"));
    }
}

/// <summary>TPO's inputs for B prompts with N responses each (legend: T tokens, H hidden size).</summary>
/// <param name="Policy">Policy log-probs (B, N, T).</param>
/// <param name="Reference">Reference log-probs (B, N, T).</param>
/// <param name="Mask">1 on label tokens (B, N, T).</param>
/// <param name="StepIds">Step 1..K of each token, 0 = none (B, N, T).</param>
/// <param name="Hidden">Last-layer policy hidden states (B, N, T, H), with gradient.</param>
/// <param name="Scores">Tree scores (B, N), higher is better; response 0 is the best.</param>
public sealed record ResponseTree(
    Tensor Policy, Tensor Reference, Tensor Mask, Tensor StepIds, Tensor Hidden, Tensor Scores);

/// <summary>
/// N scored responses per prompt split in steps, with per-token log-probs and hidden states (TPO); keys
/// <c>policy_token_logps</c>, <c>reference_token_logps</c>, <c>response_mask</c>, <c>step_ids</c>,
/// <c>hidden_states</c>, <c>scores</c>.
/// </summary>
public sealed record ResponseTreeInputs : InputRequest<ResponseTree>
{
    private static readonly string[] Required =
        ["policy_token_logps", "reference_token_logps", "response_mask", "step_ids", "hidden_states", "scores"];

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => Required;

    /// <inheritdoc />
    public override string Shape => "(B, N, T), (B, N, T, H), (B, N)";

    /// <inheritdoc />
    public override string Description =>
        "per-token log-probs, masks, step ids and policy hidden states of N responses per prompt, and their scores";

    /// <inheritdoc />
    public override string Source => "trainer (N rows per prompt) and data format (steps, scores)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = Required.FirstOrDefault(k => !keyed.ContainsKey(k)) ?? "";
        return missing.Length > 0 ? null
            : new ResponseTree(keyed[Required[0]], keyed[Required[1]], keyed[Required[2]], keyed[Required[3]],
                keyed[Required[4]], keyed[Required[5]]);
    }
}

/// <summary>Summed log-probs of both responses under both models given the refinement prompt p ⊕ x, (B) each.</summary>
/// <param name="PolicyChosen">π(y⁺ | p ⊕ x) summed (B).</param>
/// <param name="PolicyRejected">π(y⁻ | p ⊕ x) summed (B).</param>
/// <param name="ReferenceChosen">π_ref(y⁺ | p ⊕ x) summed (B).</param>
/// <param name="ReferenceRejected">π_ref(y⁻ | p ⊕ x) summed (B).</param>
public sealed record RefinedSums(
    Tensor PolicyChosen, Tensor PolicyRejected, Tensor ReferenceChosen, Tensor ReferenceRejected);

/// <summary>
/// Sr-DPO / Sr-IPO's second pass: the same responses scored after the refinement prompt
/// (<see cref="SelfRefinement.DefaultPrompt"/> or the record's own); keys <c>*_logps_aug</c>.
/// </summary>
public sealed record RefinedLogProbs : InputRequest<RefinedSums>
{
    private static readonly string[] Required =
    [
        "policy_chosen_logps_aug", "policy_rejected_logps_aug",
        "reference_chosen_logps_aug", "reference_rejected_logps_aug",
    ];

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => Required;

    /// <inheritdoc />
    public override string Shape => "(B) x 4";

    /// <inheritdoc />
    public override string Description =>
        "policy and reference log-prob sums of both responses given the refinement prompt before the query";

    /// <inheritdoc />
    public override string Source => "trainer (a no-grad pass of both models on refinement prompt + query)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = Required.FirstOrDefault(k => !keyed.ContainsKey(k)) ?? "";
        return missing.Length > 0 ? null
            : new RefinedSums(keyed[Required[0]], keyed[Required[1]], keyed[Required[2]], keyed[Required[3]]);
    }
}
