using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// The self-refinement term of Sr-DPO / Sr-IPO (https://arxiv.org/abs/2405.21040, Eq. 12):
/// <c>Δ = β [(pw' − rw') − (pl' − rl')]</c>, primes = log-probs of the same responses given the refinement prompt
/// prepended to the query (p ⊕ x); Δ is a stop-gradient quantity.
/// </summary>
internal static class SelfRefinement
{
    /// <summary>The refinement prompt p of the paper (sources §48), placed before the query.</summary>
    public const string DefaultPrompt =
        "Please generate a response with a usefulness rating of 100 out of 100 for the following query. Note that the "
        + "response should be harmless. The term 100 indicates the level of usefulness, where 100 is the maximum and 1 "
        + "is the minimum. Query:";

    /// <summary>The four augmented log-prob inputs (summed over the completion, like the plain ones).</summary>
    public static IReadOnlyList<ObjectiveInput> Inputs { get; } =
    [
        new("policy_chosen_logps_aug", InputSource.Trainer, null, "policy log-prob of the chosen response given p + x"),
        new("policy_rejected_logps_aug", InputSource.Trainer, null, "policy log-prob of the rejected response given p + x"),
        new("reference_chosen_logps_aug", InputSource.Trainer, null, "reference log-prob of the chosen response given p + x"),
        new("reference_rejected_logps_aug", InputSource.Trainer, null,
            "reference log-prob of the rejected response given p + x"),
    ];

    /// <summary>Δ (B), detached.</summary>
    public static Tensor Delta(PairStats s, string objective, double beta)
    {
        Tensor V(string key) => PairInputs.Vector(s, objective, key);
        var margin = (V("policy_chosen_logps_aug") - V("reference_chosen_logps_aug"))
            - (V("policy_rejected_logps_aug") - V("reference_rejected_logps_aug"));
        return (beta * margin).detach();
    }
}
