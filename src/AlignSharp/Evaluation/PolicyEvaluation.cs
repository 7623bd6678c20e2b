using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Tokenization;

namespace AlignSharp.Evaluation;

/// <summary>One policy evaluation: ground-truth reward and KL to the reference of samples on held-out prompts.</summary>
/// <param name="Reward">Mean ground-truth reward of the policy's samples.</param>
/// <param name="Kl">Sequence-level KL(π ‖ π_ref) estimated from the same samples.</param>
/// <param name="MeanLength">Mean completion length in tokens.</param>
/// <param name="Samples">The samples themselves.</param>
public sealed record PolicyEvaluationResult(Estimate Reward, Estimate Kl, double MeanLength, PolicySamples Samples);

/// <summary>Samples a policy on held-out prompts and measures ground-truth reward and KL to the reference from the same samples.</summary>
public static class PolicyEvaluation
{
    /// <summary>
    /// Draws <paramref name="samplesPerPrompt"/> completions per prompt from <paramref name="policy"/> (temperature 1,
    /// seeded), scores them with <paramref name="reward"/> and estimates KL(π ‖ π_ref) from their log-probs.
    /// </summary>
    public static PolicyEvaluationResult Run(CausalLM policy, CausalLM reference, ITokenizer tokenizer, IReadOnlyList<string> prompts,
        IRewardFunction reward, int samplesPerPrompt, int maxNewTokens, long seed)
    {
        if (samplesPerPrompt < 1) throw new EvaluationException($"samplesPerPrompt must be >= 1, got {samplesPerPrompt}");
        var repeated = prompts.SelectMany(p => Enumerable.Repeat(p, samplesPerPrompt)).ToList();
        var samples = PolicySamples.Draw(policy, tokenizer, repeated, maxNewTokens, seed);
        var rewards = samples.Prompts.Zip(samples.Completions, reward.Score).ToArray();
        var kl = SequenceKl.Estimate(policy, reference, samples.PromptIds, samples.CompletionIds);
        return new PolicyEvaluationResult(Estimate.Of(rewards), kl, samples.CompletionIds.Average(c => (double)c.Length), samples);
    }
}
