using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Generation;

/// <summary>
/// Batched autoregressive decoding with a KV cache. Prompts are left-padded so every row's next token comes from the
/// last slot; positions follow the mask (<see cref="CausalLM.PositionsFromMask"/>), so padding shifts nothing. After the
/// prompt pass each step feeds one token per row and reuses the cached keys and values.
/// </summary>
public static class TextGenerator
{
    /// <summary>Continues every prompt (token ids); results are in prompt order.</summary>
    public static IReadOnlyList<GenerationResult> Generate(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, torch.Generator? rng = null)
    {
        options.Validate();
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Count == 0) throw new GenerationException($"prompt {i} is empty");
            if (prompts[i].Any(t => t < 0 || t >= model.Config.VocabSize))
                throw new GenerationException($"prompt {i} has token id {prompts[i].First(t => t < 0 || t >= model.Config.VocabSize)} outside the vocabulary (size {model.Config.VocabSize})");
            if (model.Config.MaxSequenceLength is int limit && prompts[i].Count + options.MaxNewTokens > limit)
                throw new GenerationException($"prompt {i}: {prompts[i].Count} tokens + max_new_tokens {options.MaxNewTokens} exceed the model's {limit} positions");
        }
        var results = new List<GenerationResult>(prompts.Count);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            for (int start = 0; start < prompts.Count; start += options.BatchSize)
                results.AddRange(GenerateBatch(model, prompts.Skip(start).Take(options.BatchSize).ToList(), options, rng));
        }
        finally
        {
            model.train(wasTraining);
        }
        return results;
    }

    private static List<GenerationResult> GenerateBatch(CausalLM model, List<IReadOnlyList<int>> prompts, GenerationOptions options, torch.Generator? rng)
    {
        int n = prompts.Count, width = prompts.Max(p => p.Count);
        var device = model.parameters().First().device;
        var ids = new long[n * width];
        var maskData = new long[n * width];
        for (int r = 0; r < n; r++)
        {
            int pad = width - prompts[r].Count;
            for (int i = 0; i < width; i++)
            {
                ids[r * width + i] = i < pad ? options.PadTokenId : prompts[r][i - pad];
                maskData[r * width + i] = i < pad ? 0 : 1;
            }
        }
        var outputs = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var done = new bool[n];
        var eos = options.EosTokenIds.ToHashSet();
        using var cache = model.NewCache();
        var mask = torch.tensor(maskData, [n, width], device: device);
        var input = torch.tensor(ids, [n, width], device: device);
        try
        {
            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                using var scope = torch.NewDisposeScope();
                var positions = step == 0 ? CausalLM.PositionsFromMask(mask) : mask.sum(1, keepdim: true) - 1; // (n, T) or (n, 1)
                var hidden = model.ForwardHidden(input, mask, positions, cache); // (n, T, C)
                var logits = model.LmHead(hidden[.., -1, ..]); // (n, V)
                var next = TokenSampler.Next(logits, options, rng); // (n)
                var tokens = next.cpu().data<long>().ToArray();
                for (int r = 0; r < n; r++)
                {
                    if (done[r]) continue;
                    outputs[r].Add((int)tokens[r]);
                    if (eos.Contains((int)tokens[r])) done[r] = true;
                }
                if (done.All(d => d) || step == options.MaxNewTokens - 1) break;
                // Finished rows keep decoding a pad token (their output is closed); it keeps the batch rectangular.
                var fed = torch.tensor(tokens.Select((t, r) => done[r] ? options.PadTokenId : t).ToArray(), [n, 1], device: device);
                var newMask = torch.cat([mask, torch.ones(n, 1, ScalarType.Int64, device)], 1); // (n, S) -> (n, S + 1)
                input.Dispose();
                mask.Dispose();
                input = fed.DetachFromDisposeScope();
                mask = newMask.DetachFromDisposeScope();
            }
        }
        finally
        {
            input.Dispose();
            mask.Dispose();
        }
        return outputs.Select((o, r) => new GenerationResult([.. o], done[r])).ToList();
    }
}
