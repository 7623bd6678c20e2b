using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Evaluation;

/// <summary>
/// Minimal seeded ancestral sampler over <see cref="CausalLM.Logits"/> (full recompute, no KV cache), kept internal
/// until the Generation module lands. Samples the full softmax at temperature 1, which is what the KL estimator needs.
/// </summary>
internal static class AncestralSampler
{
    /// <summary>
    /// One completion per prompt: tokens until <paramref name="eosId"/> (included) or <paramref name="maxNewTokens"/>.
    /// Prompts are left-padded so every row's next token is read at the last position.
    /// </summary>
    public static List<int[]> Sample(CausalLM model, IReadOnlyList<int[]> prompts, int maxNewTokens, int? eosId, Generator generator, int batchSize = 64)
    {
        var device = model.parameters().First().device;
        var result = new List<int[]>(prompts.Count);
        using var noGrad = torch.no_grad();
        for (int start = 0; start < prompts.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(batchSize, prompts.Count - start);
            int width = Enumerable.Range(start, n).Max(i => prompts[i].Length);
            var ids = new long[n * width];
            var mask = new long[n * width];
            for (int r = 0; r < n; r++)
            {
                var p = prompts[start + r];
                int pad = width - p.Length;
                for (int i = 0; i < p.Length; i++) { ids[r * width + pad + i] = p[i]; mask[r * width + pad + i] = 1; }
            }
            var input = torch.tensor(ids, [n, width], device: device);
            var attention = torch.tensor(mask, [n, width], device: device);
            var outputs = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
            var done = new bool[n];
            for (int step = 0; step < maxNewTokens && done.Any(d => !d); step++)
            {
                using var stepScope = torch.NewDisposeScope();
                var pos = CausalLM.PositionsFromMask(attention);
                var hidden = model.ForwardHidden(input, attention, pos); // (n, T, C)
                var probs = F.softmax(model.LmHead(hidden[.., -1, ..]).to(ScalarType.Float64), 1); // (n, V)
                var next = torch.multinomial(probs, 1, generator: generator); // (n, 1)
                var tokens = next.cpu().data<long>().ToArray();
                for (int r = 0; r < n; r++)
                {
                    if (done[r]) continue;
                    outputs[r].Add((int)tokens[r]);
                    if (tokens[r] == eosId) done[r] = true;
                }
                var newInput = torch.cat([input, next], 1).MoveToOuterDisposeScope();
                var newAttention = torch.cat([attention, torch.ones(n, 1, ScalarType.Int64, device)], 1).MoveToOuterDisposeScope();
                input = newInput;
                attention = newAttention;
            }
            result.AddRange(outputs.Select(o => o.ToArray()));
        }
        return result;
    }
}
