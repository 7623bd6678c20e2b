using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives.TokenLevel;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Evaluation;

/// <summary>
/// One response read token by token (<see cref="TokenRewards"/>, "From r to Q*"): the policy's and the reference's
/// log-prob of each completion token, the implicit reward r[t] = β (lp[t] − lr[t]), its running sum, and the sequence
/// reward β Σ_t (lp[t] − lr[t]) (DPO's implicit reward of the whole response).
/// </summary>
/// <param name="Tokens">The completion's token ids.</param>
/// <param name="PolicyLogProbs">log π(y_t | x, y_&lt;t) per token.</param>
/// <param name="ReferenceLogProbs">log π_ref(y_t | x, y_&lt;t) per token.</param>
/// <param name="TokenRewards">r[t] per token.</param>
/// <param name="CumulativeRewards">Σ_{s≤t} r[s] per token.</param>
/// <param name="SequenceReward">Σ_t r[t].</param>
public sealed record TokenRewardReading(int[] Tokens, double[] PolicyLogProbs, double[] ReferenceLogProbs,
    double[] TokenRewards, double[] CumulativeRewards, double SequenceReward);

/// <summary>
/// The <c>token_rewards</c> output for a trained policy against its reference: per-token, cumulative and sequence
/// implicit rewards of (prompt, completion) pairs given as token ids, without gradients, in batches of right-padded
/// rows (per-token log-probs from the scored tokens only; nothing full-vocabulary is kept).
/// </summary>
public static class TokenRewardReadout
{
    /// <summary>One reading per (prompt, completion); every prompt needs at least one token.</summary>
    public static IReadOnlyList<TokenRewardReading> Compute(CausalLM policy, CausalLM reference,
        IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, double beta, int batchSize = 8)
    {
        if (prompts.Count != completions.Count)
            throw new EvaluationException(
                $"need one completion per prompt: {prompts.Count} prompts, {completions.Count} completions");
        if (batchSize < 1) throw new EvaluationException($"batch size must be >= 1, got {batchSize}");
        if (prompts.Any(p => p.Length == 0))
            throw new EvaluationException("every prompt needs at least one token (e.g. BOS) to score its completion from");
        var readings = new List<TokenRewardReading>();
        using var noGrad = no_grad();
        for (int start = 0; start < prompts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, prompts.Count - start);
            var rows = Enumerable.Range(start, n).Select(i => (prompts[i], completions[i])).ToList();
            Tensor Tokens(CausalLM model)
            {
                var device = model.parameters().First().device;
                var b = RowCollator.RightPad(rows, padId: 0, device); // pad slots are masked
                return SequenceLogProbs.Compute(model, b.InputIds, b.AttentionMask, b.PositionIds, b.CompletionMask,
                    perToken: true).Tokens!.to(ScalarType.Float64).cpu(); // (n, Tc)
            }
            var lp = Tokens(policy);
            var lr = Tokens(reference);
            var mask = arange(lp.shape[1]).unsqueeze(0)
                < tensor(rows.Select(r => (long)r.Item2.Length).ToArray()).unsqueeze(1); // (n, Tc)
            var r = TokenRewards.Compute(lp, lr, mask, beta);
            for (int i = 0; i < n; i++)
            {
                int t = rows[i].Item2.Length;
                double[] Row(Tensor x) => t == 0 ? [] : x[i].narrow(0, 0, t).data<double>().ToArray();
                readings.Add(new TokenRewardReading(rows[i].Item2, Row(lp), Row(lr), Row(r.TokenRewards),
                    Row(r.CumulativeRewards), r.SequenceRewards[i].item<double>()));
            }
        }
        return readings;
    }
}
