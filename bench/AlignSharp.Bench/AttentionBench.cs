using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>
/// Scaled-dot-product attention alone, forward and backward, for rows of the given lengths (<c>AlignSharp.Bench
/// attention</c>): padded rows under the padding mask, rows packed into sequences of the longest row under the
/// block-diagonal mask, and per-segment causal attention over one packed row (<see cref="AttentionBias.Segmented"/>).
/// q, k and v come in the models' layout: (B, T, H, D) projections viewed as (B, H, T, D). Variants alternate in one
/// process, so their ratios hold under load.
/// </summary>
internal static class AttentionBench
{
    public static JsonObject Run(long[] lengths, int heads, int headDim, int reps, int threads)
    {
        torch.set_num_threads(threads);
        long rows = lengths.Length, t = lengths.Max(), n = lengths.Sum();
        using var padMask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1); // (R, T)
        var variants = new (string Name, long B, long T, Func<AttentionBias> Bias)[]
        {
            ("padded", rows, t, () => AttentionBias.Additive(Attention.AdditiveMask(padMask.to(ScalarType.Int64), t, ScalarType.Float32))),
            ("packed_mask", 0, 0, () => throw new InvalidOperationException()),
            ("segments", 1, n, () => AttentionBias.Segmented(SegmentGroup.Plain(lengths))),
        };
        // Packed under the mask: first-fit decreasing into sequences of the longest row, as RowPacking does.
        var fill = new List<(long Fill, List<long> Rows)>();
        foreach (long l in lengths.OrderDescending())
        {
            int b = fill.FindIndex(x => x.Fill + l <= t);
            if (b < 0) { fill.Add((0, [])); b = fill.Count - 1; }
            fill[b].Rows.Add(l);
            fill[b] = (fill[b].Fill + l, fill[b].Rows);
        }
        long p = fill.Count, width = fill.Max(x => x.Fill);
        var seg = new long[p * width];
        for (int b = 0; b < p; b++)
        {
            long at = b * width;
            for (int s = 0; s < fill[b].Rows.Count; s++)
                for (long i = 0; i < fill[b].Rows[s]; i++) seg[at++] = s + 1;
        }
        using var segMask = torch.tensor(seg, [p, width]);
        variants[1] = ("packed_mask", p, width, () => AttentionBias.Additive(Attention.AdditiveMask(segMask, width, ScalarType.Float32)));
        var fwd = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var bwd = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (int r = -1; r < reps; r++)
            for (int j = 0; j < variants.Length; j++)
            {
                var v = variants[(j + Math.Max(r, 0)) % variants.Length];
                using var scope = torch.NewDisposeScope();
                var bias = v.Bias();
                Tensor Proj() => torch.randn(v.B, v.T, heads, headDim).requires_grad_(true); // (B, T, H, D)
                var (qp, kp, vp) = (Proj(), Proj(), Proj());
                var start = Stopwatch.GetTimestamp();
                var y = bias.Attend(qp.transpose(1, 2), kp.transpose(1, 2), vp.transpose(1, 2)); // (B, H, T, D)
                double f = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var grad = torch.ones_like(y);
                start = Stopwatch.GetTimestamp();
                y.backward([grad]);
                double b = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (r < 0) continue;
                fwd[v.Name].Add(f);
                bwd[v.Name].Add(b);
            }
        var o = new JsonObject
        {
            ["kind"] = "attention", ["lengths"] = new JsonArray([.. lengths.Select(l => (JsonNode)l)]), ["heads"] = heads,
            ["head_dim"] = headDim, ["threads"] = threads, ["reps"] = reps, ["packed_sequences"] = p, ["packed_width"] = width,
        };
        foreach (var (name, _, _, _) in variants)
            o[name] = new JsonObject
            {
                ["forward_ms"] = Math.Round(1000 * Median(fwd[name]), 2), ["backward_ms"] = Math.Round(1000 * Median(bwd[name]), 2),
            };
        return o;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
