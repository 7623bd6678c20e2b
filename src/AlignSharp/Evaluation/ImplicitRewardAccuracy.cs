using AlignSharp.Data;
using AlignSharp.Models;

namespace AlignSharp.Evaluation;

/// <summary>Implicit-reward accuracy on held-out pairs, with the mean implicit-reward margin.</summary>
/// <param name="Accuracy">Share of pairs with β(pw - rw) &gt; β(pl - rl); ties count as wrong.</param>
/// <param name="MeanMargin">Mean of β((pw - rw) - (pl - rl)).</param>
/// <param name="Count">Pairs evaluated.</param>
public sealed record ImplicitRewardResult(double Accuracy, double MeanMargin, int Count);

/// <summary>
/// How often the DPO implicit reward r(x, y) = β(log π(y|x) - log π_ref(y|x)) ranks the chosen completion strictly above
/// the rejected one. With π = π_ref every reward is 0, every pair is a tie, and the accuracy is 0.
/// </summary>
public static class ImplicitRewardAccuracy
{
    /// <summary>Accuracy from summed log-probs (all spans the same length).</summary>
    public static ImplicitRewardResult FromLogProbs(ReadOnlySpan<double> policyChosen, ReadOnlySpan<double> referenceChosen,
        ReadOnlySpan<double> policyRejected, ReadOnlySpan<double> referenceRejected, double beta)
    {
        int n = policyChosen.Length;
        if (referenceChosen.Length != n || policyRejected.Length != n || referenceRejected.Length != n)
            throw new EvaluationException($"log-prob arrays differ in length: {n}, {referenceChosen.Length}, {policyRejected.Length}, {referenceRejected.Length}");
        if (!(beta > 0)) throw new EvaluationException($"beta must be > 0, got {beta}");
        if (n == 0) return new ImplicitRewardResult(double.NaN, double.NaN, 0);
        int correct = 0;
        double margins = 0;
        for (int i = 0; i < n; i++)
        {
            double chosen = beta * (policyChosen[i] - referenceChosen[i]);
            double rejected = beta * (policyRejected[i] - referenceRejected[i]);
            if (chosen > rejected) correct++;
            margins += chosen - rejected;
        }
        return new ImplicitRewardResult((double)correct / n, margins / n, n);
    }

    /// <summary>Accuracy of <paramref name="policy"/> against <paramref name="reference"/> on tokenized pairs.</summary>
    public static ImplicitRewardResult Compute(CausalLM policy, CausalLM reference, IReadOnlyList<TokenizedPair> pairs, double beta, int batchSize = 32)
    {
        var prompts = pairs.Select(p => p.Prompt).ToList();
        var chosen = pairs.Select(p => p.Chosen).ToList();
        var rejected = pairs.Select(p => p.Rejected).ToList();
        var pw = CompletionLogProbs.Compute(policy, prompts, chosen, batchSize);
        var pl = CompletionLogProbs.Compute(policy, prompts, rejected, batchSize);
        var rw = ReferenceEquals(policy, reference) ? pw : CompletionLogProbs.Compute(reference, prompts, chosen, batchSize);
        var rl = ReferenceEquals(policy, reference) ? pl : CompletionLogProbs.Compute(reference, prompts, rejected, batchSize);
        return FromLogProbs(pw, rw, pl, rl, beta);
    }
}
