using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Generation;
using TorchSharp;

namespace AlignSharp.Bench;

/// <summary>
/// Sampling throughput of <see cref="TextGenerator"/> (left-padded batches, KV cache): a fixed set of random prompts
/// of varied length decoded to exactly max_new_tokens each (no EOS), at temperature 1, in batches of the given size.
/// Batch 1 vs 16 is the number the online loop's sample step lives on.
/// </summary>
internal static class GenerationBench
{
    public static JsonObject Run(BenchConfigs configs, string model, int threads, int batchSize, int prompts,
        int promptLength, int maxNewTokens, long seed)
    {
        torch.set_num_threads(threads);
        var cfg = configs.Model(model);
        using var m = ModelFactory.Create(cfg, seed);
        m.eval();
        var rng = new Random((int)seed);
        // Lengths vary between half and the full prompt length, so batches carry left padding as in the loop.
        var rows = Enumerable.Range(0, prompts)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, rng.Next(promptLength / 2, promptLength + 1))
                .Select(_ => rng.Next(cfg.VocabSize)).ToArray())
            .ToList();
        var options = new GenerationOptions
        {
            MaxNewTokens = maxNewTokens, Temperature = 1.0, BatchSize = batchSize, PadTokenId = 0, EosTokenIds = [],
        };
        using var generator = new torch.Generator((ulong)seed);
        TextGenerator.Generate(m, rows.Take(Math.Min(batchSize, prompts)).ToList(), options with { MaxNewTokens = 4 },
            generator); // warm-up
        var watch = Stopwatch.StartNew();
        var results = TextGenerator.Generate(m, rows, options, generator);
        watch.Stop();
        long tokens = results.Sum(r => (long)r.Tokens.Length);
        return new JsonObject
        {
            ["bench"] = "generate",
            ["model"] = model,
            ["threads"] = threads,
            ["batch_size"] = batchSize,
            ["prompts"] = prompts,
            ["prompt_length"] = promptLength,
            ["new_tokens"] = tokens,
            ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 3),
            ["tokens_per_second"] = Math.Round(tokens / watch.Elapsed.TotalSeconds, 1),
        };
    }
}
