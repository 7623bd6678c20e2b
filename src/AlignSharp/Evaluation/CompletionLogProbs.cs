using AlignSharp.Data;
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
            var batch = RowCollator.RightPad(Enumerable.Range(start, n).Select(i => (prompts[i], completions[i])).ToList(), padId: 0, device); // pad slots are masked
            var rows = SequenceLogProbs.Compute(model, batch.InputIds, batch.AttentionMask, batch.PositionIds, batch.CompletionMask);
            var sums = rows.Sums.to(ScalarType.Float64).cpu().data<double>().ToArray();
            Array.Copy(sums, 0, result, start, n);
        }
        return result;
    }
}
