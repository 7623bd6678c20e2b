using System.Text.Json.Nodes;
using AlignSharp.Data;
using AlignSharp.Data.Batching;

namespace AlignSharp.Bench;

/// <summary>
/// Padding waste of random vs length-bucketed batches (the data layer's <see cref="BatchPlanner"/>) on a synthetic
/// corpus whose lengths spread like chat preference data: prompts and completions from a fixed long-tailed
/// distribution (deterministic, no data needed).
/// </summary>
internal static class PaddingBench
{
    /// <summary>Plans one epoch both ways and measures the padding of each.</summary>
    public static JsonObject Run(int pairs, int batchSize, int maxLength)
    {
        var rng = new Random(20261126);
        // Long-tailed lengths: exp of a uniform, so most rows are short and a few are long (as in UltraFeedback-style data).
        int Draw(int lo, int hi) => (int)Math.Round(lo * Math.Pow((double)hi / lo, rng.NextDouble() * rng.NextDouble()));
        var source = new SourceLocation("synthetic", 0);
        var list = new List<TokenizedPair>(pairs);
        for (int i = 0; i < pairs; i++)
        {
            int prompt = Draw(16, maxLength / 2);
            int room = maxLength - prompt;
            list.Add(new TokenizedPair(new int[prompt], new int[Math.Min(room, Draw(8, maxLength / 2))], new int[Math.Min(room, Draw(8, maxLength / 2))],
                new PreferenceExample("", "", "", source with { Line = i + 1 })));
        }
        var result = new JsonObject { ["kind"] = "padding", ["pairs"] = pairs, ["batch_size"] = batchSize, ["max_length"] = maxLength };
        foreach (var order in new[] { BatchOrder.Random, BatchOrder.Bucketed })
        {
            var planner = PreferenceBatches.Planner(list, batchSize, seed: 1, order);
            var stats = PaddingStats.Measure(planner.Epoch(0), list);
            result[order.ToString().ToLowerInvariant()] = new JsonObject
            {
                ["real_tokens"] = stats.RealTokens, ["padded_tokens"] = stats.PaddedTokens, ["total_tokens"] = stats.TotalTokens, ["waste"] = stats.Waste,
            };
        }
        return result;
    }
}
