using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Evaluation;

/// <summary>
/// Summed log-probabilities log π(y|x) of completions given prompts (token ids), without gradients, in batches of
/// right-padded rows through <see cref="SequenceLogProbs"/> (the one place where the shift happens).
/// </summary>
public static class CompletionLogProbs
{
    /// <summary>One sum per (prompt, completion) pair; empty completions give 0.</summary>
    public static double[] Compute(CausalLM model, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int batchSize = 32)
    {
        if (prompts.Count != completions.Count)
            throw new EvaluationException($"need one completion per prompt: {prompts.Count} prompts, {completions.Count} completions");
        if (batchSize < 1) throw new EvaluationException($"batch size must be >= 1, got {batchSize}");
        if (prompts.Any(p => p.Length == 0)) throw new EvaluationException("every prompt needs at least one token (e.g. BOS) to score its completion from");
        var device = model.parameters().First().device;
        var result = new double[prompts.Count];
        using var noGrad = torch.no_grad();
        for (int start = 0; start < prompts.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(batchSize, prompts.Count - start);
            int t = Enumerable.Range(start, n).Max(i => prompts[i].Length + completions[i].Length);
            var ids = new long[n * t];
            var mask = new long[n * t];
            var pos = new long[n * t];
            var scored = new float[n * t];
            for (int r = 0; r < n; r++)
            {
                var (p, c) = (prompts[start + r], completions[start + r]);
                for (int i = 0; i < p.Length + c.Length; i++)
                {
                    int k = r * t + i;
                    ids[k] = i < p.Length ? p[i] : c[i - p.Length];
                    mask[k] = 1;
                    pos[k] = i;
                    scored[k] = i >= p.Length ? 1 : 0;
                }
            }
            var rows = SequenceLogProbs.Compute(model,
                torch.tensor(ids, [n, t], device: device), torch.tensor(mask, [n, t], device: device),
                torch.tensor(pos, [n, t], device: device), torch.tensor(scored, [n, t], device: device));
            var sums = rows.Sums.to(ScalarType.Float64).cpu().data<double>().ToArray();
            Array.Copy(sums, 0, result, start, n);
        }
        return result;
    }
}
