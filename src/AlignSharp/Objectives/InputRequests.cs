using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// An extra input an objective declares (<see cref="IPreferenceObjective.Inputs"/>) and the trainer satisfies.
/// Each kind is a sealed record whose value type is fixed by <see cref="InputRequest{TValue}"/>; the trainer finds
/// a provider by the request's type (Training/TrainerInputs.cs), never by an objective id or a key string. A new
/// kind (a reward head's output, a value model's estimates) is one record here plus one provider there.
/// <see cref="Keys"/> are the names the golden-vector files use; they matter only where inputs come as named
/// arrays (vector files, tests), see <see cref="ObjectiveInputs.Keyed"/>.
/// </summary>
public abstract record InputRequest
{
    /// <summary>Names of the value's arrays in golden-vector files, e.g. <c>chosen_scores</c>.</summary>
    public abstract IReadOnlyList<string> Keys { get; }

    /// <summary>Shape note, e.g. "(B)" or "(B, E)".</summary>
    public abstract string Shape { get; }

    /// <summary>What the input means (docs and errors).</summary>
    public abstract string Description { get; }

    /// <summary>Who provides it, for docs: a dataset column or the trainer.</summary>
    public abstract string Source { get; }

    /// <summary>The keys as written in messages: <c>'a'</c> or <c>'a', 'b'</c>.</summary>
    public string Names => string.Join(", ", Keys.Select(k => $"'{k}'"));

    /// <summary>
    /// Builds the value from named arrays (vector files, tests), or returns null and the first key missing.
    /// </summary>
    internal abstract object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing);
}

/// <summary>A request whose value has type <typeparamref name="TValue"/>.</summary>
/// <typeparam name="TValue">A tensor or a small record of tensors.</typeparam>
public abstract record InputRequest<TValue> : InputRequest where TValue : class;

/// <summary>
/// One numeric dataset column per pair, shape (B), e.g. ODPO's scores. The trainer reads it from each example's
/// numeric fields by <see cref="Column"/>; vector files name it <see cref="Key"/> (or the column name).
/// </summary>
/// <param name="Key">Name in vector files (e.g. <c>chosen_scores</c>).</param>
/// <param name="Column">Dataset column (e.g. <c>chosen_score</c>).</param>
/// <param name="Meaning">What the value means.</param>
public sealed record DatasetColumn(string Key, string Column, string Meaning) : InputRequest<Tensor>
{
    /// <summary>
    /// True for a column the objective reads when the data has it (every record, or none): without it the trainer
    /// adds no value and the objective finds none (<see cref="ObjectiveInputs.Find{TValue}"/>).
    /// </summary>
    public bool Optional { get; init; }

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => [Key];

    /// <inheritdoc />
    public override string Shape => "(B)";

    /// <inheritdoc />
    public override string Description => Meaning;

    /// <inheritdoc />
    public override string Source => Optional ? $"dataset column `{Column}` (optional)" : $"dataset column `{Column}`";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = Key;
        return keyed.TryGetValue(Key, out var t) || keyed.TryGetValue(Column, out t) ? t : null;
    }
}

/// <summary>A prompt embedding per pair, shape (B, E) (Relative PO's similarity weights).</summary>
public sealed record PromptEmbeddings : InputRequest<Tensor>
{
    /// <summary>Name in vector files.</summary>
    public const string Key = "prompt_embeddings";

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => [Key];

    /// <inheritdoc />
    public override string Shape => "(B, E)";

    /// <inheritdoc />
    public override string Description => "prompt embedding per pair (any sentence encoder); need not be normalised";

    /// <inheritdoc />
    public override string Source => "trainer (mean of the policy's final hidden states over the prompt)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = Key;
        return keyed.GetValueOrDefault(Key);
    }
}

/// <summary>Policy and reference log-prob sums of K mismatched (prompt, completion) rows, each of shape (K).</summary>
/// <param name="Policy">Policy sums (K), without gradient.</param>
/// <param name="Reference">Reference sums (K).</param>
public sealed record MismatchedRows(Tensor Policy, Tensor Reference);

/// <summary>
/// KTO's KL estimate rows: every prompt paired with another example's completion within the batch (see
/// <see cref="UnpairedStats.MismatchedOrder"/>), scored by policy and reference without gradient.
/// </summary>
public sealed record MismatchedLogProbs : InputRequest<MismatchedRows>
{
    /// <summary>Name of the policy sums in vector files.</summary>
    public const string PolicyKey = "kl_policy_logps";

    /// <summary>Name of the reference sums in vector files.</summary>
    public const string ReferenceKey = "kl_reference_logps";

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => [PolicyKey, ReferenceKey];

    /// <inheritdoc />
    public override string Shape => "(K), (K)";

    /// <inheritdoc />
    public override string Description =>
        "policy and reference log-prob sums of mismatched (prompt i, completion of example i-1) rows";

    /// <inheritdoc />
    public override string Source => "trainer (one no-grad forward of each model over the batch's mismatched rows)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = !keyed.ContainsKey(PolicyKey) ? PolicyKey : ReferenceKey;
        return keyed.TryGetValue(PolicyKey, out var p) && keyed.TryGetValue(ReferenceKey, out var r)
            ? new MismatchedRows(p, r) : null;
    }
}

/// <summary>A (B) value for the chosen and one for the rejected completion of each pair.</summary>
/// <param name="Chosen">Chosen values (B).</param>
/// <param name="Rejected">Rejected values (B).</param>
public sealed record PairValues(Tensor Chosen, Tensor Rejected);

/// <summary>
/// Scalar reward-head outputs for the chosen and rejected completions, shape (B) each (Direct Preference Heads).
/// Produced by a reward head on the policy (<c>Training.HeadRewardProvider</c>), which the run builds when an objective
/// asks for it.
/// </summary>
public sealed record HeadRewards : InputRequest<PairValues>
{
    /// <summary>Name of the chosen outputs in vector files.</summary>
    public const string ChosenKey = "chosen_head_rewards";

    /// <summary>Name of the rejected outputs in vector files.</summary>
    public const string RejectedKey = "rejected_head_rewards";

    /// <inheritdoc />
    public override IReadOnlyList<string> Keys => [ChosenKey, RejectedKey];

    /// <inheritdoc />
    public override string Shape => "(B), (B)";

    /// <inheritdoc />
    public override string Description => "reward-head output for the chosen and the rejected response";

    /// <inheritdoc />
    public override string Source =>
        "trainer (a one-output head on the policy's final hidden state at the last non-pad token)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        missing = !keyed.ContainsKey(ChosenKey) ? ChosenKey : RejectedKey;
        return keyed.TryGetValue(ChosenKey, out var c) && keyed.TryGetValue(RejectedKey, out var r)
            ? new PairValues(c, r) : null;
    }
}

/// <summary>
/// Per-token log-probs of each completion, right-padded: policy (with gradient) and reference (null for
/// reference-free objectives) of shape (B, Tc) for chosen and (B, Tr) for rejected, with 0/1 masks of the same
/// shapes (1 = a completion token). Token t is the t-th completion token (prompt tokens are never included).
/// Padded slots hold arbitrary values: read them through the mask with a select (<c>where(mask, v, 0)</c>), never
/// by multiplication, so non-finite padding cannot leak.
/// </summary>
/// <param name="PolicyChosen">Policy log-probs of the chosen completions (B, Tc).</param>
/// <param name="ReferenceChosen">Reference log-probs of the chosen completions (B, Tc), or null.</param>
/// <param name="ChosenMask">1 on chosen completion tokens (B, Tc).</param>
/// <param name="PolicyRejected">Policy log-probs of the rejected completions (B, Tr).</param>
/// <param name="ReferenceRejected">Reference log-probs of the rejected completions (B, Tr), or null.</param>
/// <param name="RejectedMask">1 on rejected completion tokens (B, Tr).</param>
public sealed record TokenLogProbs(
    Tensor PolicyChosen, Tensor? ReferenceChosen, Tensor ChosenMask,
    Tensor PolicyRejected, Tensor? ReferenceRejected, Tensor RejectedMask)
{
    /// <summary>The reference tensors, or a clear error naming the objective.</summary>
    public (Tensor Chosen, Tensor Rejected) RequireReference(string objective) =>
        ReferenceChosen is not null && ReferenceRejected is not null
            ? (ReferenceChosen, ReferenceRejected)
            : throw new ObjectiveException($"objective '{objective}' needs per-token reference log-probs");

    /// <summary>Masked sum over tokens, (B, T) -> (B): <c>sum_t m[t] v[t]</c>, reading padded slots as 0.</summary>
    public static Tensor MaskedSum(Tensor values, Tensor mask) =>
        where(mask.to(ScalarType.Bool), values, zeros_like(values)).sum(1); // (B, T) -> (B)
}

/// <summary>
/// Per-token policy and reference log-probs of the completions (<see cref="TokenLogProbs"/>). Sequence-level
/// objectives do not ask for it and keep the trainer's fast path (sums only); asking for it makes the trainer
/// scatter the scored tokens' log-probs, which it computes anyway, into (B, T) tensors: nothing full-vocabulary is
/// kept. A cached reference then stores per-token values as well.
/// </summary>
/// <param name="WithReference">Whether the reference's per-token log-probs are needed too.</param>
public sealed record CompletionTokenLogProbs(bool WithReference = true) : InputRequest<TokenLogProbs>
{
    /// <inheritdoc />
    public override IReadOnlyList<string> Keys =>
    [
        "policy_chosen_token_logps", "reference_chosen_token_logps", "chosen_mask",
        "policy_rejected_token_logps", "reference_rejected_token_logps", "rejected_mask",
    ];

    /// <inheritdoc />
    public override string Shape => "(B, Tc), (B, Tr)";

    /// <inheritdoc />
    public override string Description =>
        "per-token policy and reference log-probs of the chosen and rejected completions, with masks";

    /// <inheritdoc />
    public override string Source => "trainer (the policy forward it runs anyway; reference strategy per token)";

    internal override object? FromKeys(IReadOnlyDictionary<string, Tensor> keyed, out string missing)
    {
        string[] required =
            ["policy_chosen_token_logps", "chosen_mask", "policy_rejected_token_logps", "rejected_mask"];
        missing = required.FirstOrDefault(k => !keyed.ContainsKey(k)) ?? "";
        if (missing.Length > 0) return null;
        return new TokenLogProbs(
            keyed["policy_chosen_token_logps"], keyed.GetValueOrDefault("reference_chosen_token_logps"),
            keyed["chosen_mask"],
            keyed["policy_rejected_token_logps"], keyed.GetValueOrDefault("reference_rejected_token_logps"),
            keyed["rejected_mask"]);
    }
}
