using AlignSharp.Data;
using AlignSharp.Models;
using static TorchSharp.torch;

namespace AlignSharp.Evaluation;

/// <summary>
/// The CHES score of a preference pair (centered hidden embedding similarity; Razin et al. 2024, "Unintentional
/// Unalignment: Likelihood Displacement in Direct Preference Optimization", https://arxiv.org/abs/2410.08847):
/// with <c>h⁺ = Σ_k h(x, y⁺_{&lt;k})</c> and <c>h⁻ = Σ_k h(x, y⁻_{&lt;k})</c> the sums of the model's final hidden
/// states at the positions that predict each chosen and each rejected token,
/// <c>CHES = ⟨h⁺, h⁻⟩ − ‖h⁺‖²</c>. Intuition: the more the two responses' embeddings point the same way, the more a
/// DPO step that pushes the rejected response down drags the chosen one with it (likelihood displacement); pairs
/// with the highest scores are the ones to drop. Legend: R rows, T positions, C hidden size.
/// </summary>
public static class Ches
{
    /// <summary>CHES of one pair from its responses' hidden states, (Tw, C) and (Tl, C) (the definition, for tests).</summary>
    public static double FromHidden(Tensor chosenHidden, Tensor rejectedHidden)
    {
        using var scope = NewDisposeScope();
        var hw = chosenHidden.to(ScalarType.Float64).sum(0L); // (Tw, C) -> (C)
        var hl = rejectedHidden.to(ScalarType.Float64).sum(0L); // (Tl, C) -> (C)
        return ((hw * hl).sum() - (hw * hw).sum()).item<double>();
    }

    /// <summary>
    /// CHES of every pair under <paramref name="model"/> (no gradient), in pair order: one forward over the batch's
    /// 2B rows (chosen rows, then rejected rows), the hidden states at the positions predicting completion tokens
    /// summed per row.
    /// </summary>
    public static double[] Scores(CausalLM model, IReadOnlyList<TokenizedPair> pairs, int padId, int batchSize = 16)
    {
        var result = new List<double>(pairs.Count);
        var device = model.parameters().First().device;
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var chunk in pairs.Chunk(Math.Max(1, batchSize)))
            {
                using var scope = NewDisposeScope();
                using var batch = PreferenceCollator.Collate(chunk, padId);
                var ids = batch.InputIds.to(device);
                var mask = batch.AttentionMask.to(device);
                var hidden = model.ForwardHidden(ids, mask, batch.PositionIds.to(device)).to(ScalarType.Float64); // (R, T, C)
                // Position t predicts token t + 1: weight t is 1 when token t + 1 is a completion token.
                var predicts = batch.CompletionMask.to(device)[.., 1..].to(ScalarType.Float64); // (R, T-1)
                var sums = (hidden[.., ..^1, ..] * predicts.unsqueeze(2)).sum(1); // (R, T-1, C) -> (R, C)
                int b = chunk.Length;
                var hw = sums[..b];
                var hl = sums[b..];
                var ches = (hw * hl).sum(1) - (hw * hw).sum(1); // (B)
                result.AddRange(ches.cpu().data<double>().ToArray());
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return [.. result];
    }

    /// <summary>
    /// The indices of the pairs kept when the <paramref name="quantile"/> share with the highest CHES is dropped
    /// (ties at the cut drop together with it), in their original order.
    /// </summary>
    public static IReadOnlyList<int> Keep(IReadOnlyList<double> scores, double quantile)
    {
        if (!(quantile >= 0 && quantile < 1))
            throw new EvaluationException($"ches quantile must be in [0, 1), got {quantile}");
        int drop = (int)Math.Floor(quantile * scores.Count);
        if (drop == 0) return [.. Enumerable.Range(0, scores.Count)];
        double cut = scores.OrderByDescending(s => s).ElementAt(drop - 1); // the smallest dropped score
        return [.. Enumerable.Range(0, scores.Count).Where(i => scores[i] < cut)];
    }
}
