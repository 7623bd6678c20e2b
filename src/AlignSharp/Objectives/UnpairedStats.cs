using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Statistics for one batch of N unpaired examples (prompt, completion, desirable/undesirable label), as KTO
/// trains on. <c>Policy</c>, <c>Reference</c>, <c>Labels</c> have shape (N); the KL tensors have shape (K): the
/// policy and reference log-prob sums of K mismatched (prompt, completion) pairs built within the batch (see
/// <see cref="MismatchedOrder"/>). Labels are 1 for desirable and 0 for undesirable.
/// </summary>
public sealed record UnpairedStats(Tensor Policy, Tensor Reference, Tensor Labels, Tensor KlPolicy, Tensor KlReference)
{
    /// <summary>Number of examples.</summary>
    public long Count => Policy.shape[0];

    /// <summary>
    /// Which completion each prompt is paired with for the KL estimate: example i takes the completion of
    /// example (i - 1) mod N, so every prompt gets another example's completion when N &gt; 1 (TRL's rotation).
    /// </summary>
    public static int[] MismatchedOrder(int n) => [.. Enumerable.Range(0, n).Select(i => (i + n - 1) % n)];

    /// <summary>
    /// Splits B preference pairs into 2B unpaired examples: every chosen completion desirable, every rejected one
    /// undesirable (chosen first, then rejected). The KL tensors come from the trainer's mismatched forward.
    /// </summary>
    public static UnpairedStats FromPairs(PairStats pairs, Tensor klPolicy, Tensor klReference, string objective = "kto")
    {
        var (rw, rl) = pairs.RequireReference(objective);
        var policy = cat([pairs.PolicyChosen, pairs.PolicyRejected], 0); // (B), (B) -> (2B)
        var reference = cat([rw, rl], 0); // (2B)
        var labels = cat([ones_like(pairs.PolicyChosen), zeros_like(pairs.PolicyRejected)], 0); // (2B)
        return new UnpairedStats(policy, reference, labels, klPolicy, klReference);
    }
}

/// <summary>An objective that trains on unpaired examples (KTO). The catalog still creates it by id.</summary>
public interface IUnpairedObjective
{
    /// <summary>Per-example losses (N); chosen rewards are those of desirable examples, rejected of undesirable ones.</summary>
    ObjectiveOutput Compute(UnpairedStats stats, ObjectiveContext context);
}
