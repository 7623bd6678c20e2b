using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Evaluation;

/// <summary>
/// Sequence-level KL(π ‖ π_ref) = E_{y~π(·|x)}[log π(y|x) - log π_ref(y|x)], the x-axis of the reward-KL frontier.
/// <see cref="Estimate"/> is the Monte Carlo estimator over completions sampled from the policy (unbiased when the
/// samples come from π at temperature 1 with no top-k/top-p truncation); <see cref="Exact"/> enumerates every
/// completion of a tiny model to check it.
/// </summary>
public static class SequenceKl
{
    /// <summary>
    /// Mean over samples of log π(y|x) - log π_ref(y|x), with its standard error. <paramref name="completions"/>
    /// must be drawn from <paramref name="policy"/> given the matching prompt, ending at EOS (included) or at the
    /// sampling length limit.
    /// </summary>
    public static Estimate Estimate(CausalLM policy, CausalLM reference, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int batchSize = 32)
    {
        var lp = CompletionLogProbs.Compute(policy, prompts, completions, batchSize);
        var lr = ReferenceEquals(policy, reference) ? lp : CompletionLogProbs.Compute(reference, prompts, completions, batchSize);
        return Evaluation.Estimate.Of(lp.Zip(lr, (a, b) => a - b).ToArray());
    }

    /// <summary>
    /// The exact KL of the completion distributions given <paramref name="prompt"/>, where a completion ends at
    /// <paramref name="eosId"/> (if given) or after <paramref name="maxNewTokens"/> tokens, sampling the full
    /// vocabulary at temperature 1. Uses the chain rule: the sum over unfinished prefixes h of π(h) · KL(π(·|h) ‖ π_ref(·|h)).
    /// Enumerates up to (V-1)^maxNewTokens prefixes, so it is for tiny models only.
    /// </summary>
    public static double Exact(CausalLM policy, CausalLM reference, int[] prompt, int maxNewTokens, int? eosId, long maxPrefixes = 1_000_000)
    {
        if (prompt.Length == 0) throw new EvaluationException("the prompt needs at least one token");
        if (maxNewTokens < 1) throw new EvaluationException($"maxNewTokens must be >= 1, got {maxNewTokens}");
        int vocab = policy.Config.VocabSize;
        var device = policy.parameters().First().device;
        var prefixes = new List<(int[] Tokens, double LogProb)> { ([], 0.0) };
        double kl = 0;
        using var noGrad = torch.no_grad();
        for (int depth = 0; depth < maxNewTokens && prefixes.Count > 0; depth++)
        {
            var next = new List<(int[] Tokens, double LogProb)>();
            const int batch = 256;
            for (int start = 0; start < prefixes.Count; start += batch)
            {
                using var scope = torch.NewDisposeScope();
                int n = Math.Min(batch, prefixes.Count - start);
                int t = prompt.Length + depth;
                var ids = new long[n * t];
                for (int r = 0; r < n; r++)
                {
                    for (int i = 0; i < prompt.Length; i++) ids[r * t + i] = prompt[i];
                    for (int i = 0; i < depth; i++) ids[r * t + prompt.Length + i] = prefixes[start + r].Tokens[i];
                }
                var input = torch.tensor(ids, [n, t], device: device);
                var mask = torch.ones(n, t, ScalarType.Int64, device);
                var pos = CausalLM.PositionsFromMask(mask);
                var lpPolicy = LastLogProbs(policy, input, mask, pos); // (n, V)
                var lpRef = LastLogProbs(reference, input, mask, pos); // (n, V)
                var tokenKl = (lpPolicy.exp() * (lpPolicy - lpRef)).sum(1).cpu().data<double>().ToArray(); // (n)
                var lpArray = lpPolicy.cpu().data<double>().ToArray(); // (n * V)
                for (int r = 0; r < n; r++)
                {
                    var (tokens, logProb) = prefixes[start + r];
                    kl += Math.Exp(logProb) * tokenKl[r];
                    if (depth + 1 == maxNewTokens) continue;
                    for (int v = 0; v < vocab; v++)
                    {
                        if (v == eosId) continue;
                        next.Add(([.. tokens, v], logProb + lpArray[r * vocab + v]));
                        if (next.Count > maxPrefixes) throw new EvaluationException($"exact KL would enumerate more than {maxPrefixes} prefixes; use a smaller vocabulary or length");
                    }
                }
            }
            prefixes = next;
        }
        return kl;
    }

    private static Tensor LastLogProbs(CausalLM model, Tensor ids, Tensor mask, Tensor pos)
    {
        var hidden = model.ForwardHidden(ids, mask, pos); // (n, T, C)
        var logits = model.LmHead(hidden[.., -1, ..]); // (n, C) -> (n, V)
        return F.log_softmax(logits.to(ScalarType.Float64), 1);
    }
}
