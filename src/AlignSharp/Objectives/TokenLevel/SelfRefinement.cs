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

    /// <summary>The second pass's log-prob sums.</summary>
    public static RefinedLogProbs Request { get; } = new();

    /// <summary>Δ (B), detached.</summary>
    public static Tensor Delta(PairStats s, string objective, double beta)
    {
        var r = s.Get(Request, objective);
        var ones = ones_like(s.PolicyChosen, ScalarType.Bool);
        Tensor V(string key, Tensor t) => TokenInputs.Values(objective, key, t, ones);
        var chosen = V("policy_chosen_logps_aug", r.PolicyChosen) - V("reference_chosen_logps_aug", r.ReferenceChosen);
        var rejected = V("policy_rejected_logps_aug", r.PolicyRejected)
            - V("reference_rejected_logps_aug", r.ReferenceRejected);
        var margin = chosen - rejected;
        return (beta * margin).detach();
    }
}
