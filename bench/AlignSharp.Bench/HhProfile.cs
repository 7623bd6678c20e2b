using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>How <see cref="HhProfile"/> forwards a batch's rows.</summary>
internal enum ForwardPath
{
    /// <summary>The padded (R, T) rows.</summary>
    Padded,
    /// <summary>Rows packed into sequences of at most the longest row, under the block-diagonal additive mask.</summary>
    PackedMask,
    /// <summary>All rows in one packed row with per-segment attention, each row whole.</summary>
    PackedSegments,
    /// <summary>
    /// One packed row with per-segment attention, rows with the same prompt sharing one copy of it (what
    /// <c>training.padding_free</c> runs).
    /// </summary>
    PackedShared,
}

/// <summary>
/// Where the time of a real-data DPO step goes (<c>AlignSharp.Bench hh-profile</c>): the HH batches of
/// <see cref="HhBench"/>, each step split into policy trunk forward, policy LM head + log-softmax forward, reference
/// forward (trunk and head), LM head backward, trunk backward and the fused AdamW step, for each
/// <see cref="ForwardPath"/> on the same batches in one process, the paths' order rotating batch by batch (so the ratios
/// hold under load). Attention alone is timed apart: scaled-dot-product attention forward + backward on each layer's
/// shapes of the batch (q, k, v random, GQA already expanded), times the layer count.
/// </summary>
internal static class HhProfile
{
    private static readonly string[] Phases =
        ["trunk_forward", "head_forward", "reference_trunk", "reference_head", "head_backward", "trunk_backward", "optimizer", "attention_fwd_bwd"];

    public static JsonObject Run(BenchConfigs configs, HhOptions o, int rounds)
    {
        torch.set_num_threads(o.Threads);
        var tokenizer = AutoTokenizer.FromFolder(o.Tokenizer);
        var data = TokenizedData.Load(o.Data, tokenizer, TokenizationOptions.WithHalfPrompt(o.MaxLength));
        var subset = HhBench.Subset(data.Pairs, o.Pairs, o.Seed);
        var order = o.Batching is HhBatching.Bucketed or HhBatching.PackedBucketed ? BatchOrder.Bucketed : BatchOrder.Random;
        var plan = PreferenceBatches.Planner(subset, o.BatchSize, seed: 1, order).Epoch(0).ToList();
        var cfg = configs.Model(o.Model);
        using var policy = ModelFactory.Create(cfg, o.Seed);
        policy.train();
        using var reference = ModelFactory.Create(cfg, o.Seed);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        reference.eval();
        using var optimizer = new AlignSharp.Training.Fused.AdamW(
            [new TorchSharp.Modules.AdamW.ParamGroup(policy.parameters(), 1e-6, 0.9, 0.999, 1e-8, 0, false, false)]);
        var paths = Enum.GetValues<ForwardPath>();
        var totals = paths.ToDictionary(p => p, _ => new double[Phases.Length]);
        var computed = paths.ToDictionary(p => p, _ => 0L);
        long useful = 0;
        int steps = 0;
        for (int round = 0; round < rounds; round++)
            for (int i = -1; i < plan.Count; i++) // i = -1: warm-up on the first batch, not counted
            {
                using var batch = PreferenceCollator.Collate([.. plan[Math.Max(i, 0)].Select(k => subset[k])], padId: 0);
                for (int j = 0; j < paths.Length; j++)
                {
                    var path = paths[(j + Math.Max(i, 0) + round) % paths.Length]; // rotate which path goes first
                    var (times, tokens) = Step(policy, reference, optimizer, batch, path, cfg);
                    if (i < 0) continue;
                    for (int k = 0; k < Phases.Length; k++) totals[path][k] += times[k];
                    computed[path] += tokens;
                }
                if (i < 0) continue;
                useful += batch.AttentionMask.sum().item<long>();
                steps++;
            }
        var result = new JsonObject
        {
            ["kind"] = "hh_profile", ["model"] = o.Model, ["batching"] = HhBench.Name(o.Batching), ["threads"] = o.Threads,
            ["pairs"] = subset.Count, ["batch_size"] = o.BatchSize, ["steps"] = steps, ["useful_tokens"] = useful,
        };
        foreach (var path in paths)
        {
            var t = totals[path];
            double step = t[..^1].Sum(); // the attention micro-benchmark is part of the trunk phases, not added
            var phases = new JsonObject();
            for (int k = 0; k < Phases.Length; k++) phases[Phases[k]] = Math.Round(t[k] / steps, 4);
            result[Name(path)] = new JsonObject
            {
                ["computed_tokens"] = computed[path], ["seconds_per_step"] = Math.Round(step / steps, 4),
                ["useful_tokens_per_second"] = Math.Round(useful / step, 1), ["phases_seconds_per_step"] = phases,
            };
        }
        return result;
    }

    private static string Name(ForwardPath p) => p switch
    {
        ForwardPath.Padded => "padded",
        ForwardPath.PackedMask => "packed_mask",
        ForwardPath.PackedSegments => "packed_segments",
        _ => "packed_shared",
    };

    /// <summary>One DPO step along <paramref name="path"/>: the phase times (s) and the positions computed.</summary>
    private static (double[] Times, long Computed) Step(CausalLM policy, CausalLM reference, optim.Optimizer optimizer,
        PreferenceBatch batch, ForwardPath path, ModelConfig cfg)
    {
        using var scope = torch.NewDisposeScope();
        var times = new double[Phases.Length];
        long rows = batch.InputIds.shape[0], t = batch.InputIds.shape[1];
        var scored = batch.CompletionMask[.., 1..].to(ScalarType.Bool); // (R, T-1)
        var flat = scored.reshape(-1).nonzero().squeeze(1); // (N)
        var targets = batch.InputIds[.., 1..].reshape(-1).index_select(0, flat); // (N)
        var rowOf = flat.div(t - 1, rounding_mode: RoundingMode.floor); // (N)
        var source = rowOf * t + (flat - rowOf * (t - 1)); // (N): padded index of the predicting position
        PackedRows? pack = path switch
        {
            ForwardPath.PackedMask => RowPacking.Pack(batch.InputIds, batch.AttentionMask, batch.PositionIds),
            ForwardPath.PackedSegments => RowPacking.Pack(batch.InputIds, batch.AttentionMask, batch.PositionIds, long.MaxValue),
            ForwardPath.PackedShared => RowPacking.PackSharingPrompts(batch.InputIds, batch.AttentionMask, batch.PositionIds,
                batch.CompletionMask),
            _ => null,
        };
        if (pack is not null) source = pack.Slots.index_select(0, source);
        Tensor Trunk(CausalLM m) => path switch
        {
            ForwardPath.Padded => m.ForwardHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds),
            ForwardPath.PackedMask => m.ForwardHidden(pack!.InputIds, pack.SegmentMask!, pack.PositionIds),
            _ => m.ForwardSegments(pack!.InputIds, pack.PositionIds, pack.Segments),
        };
        Tensor Sums(CausalLM m, Tensor hidden, bool trainable)
        {
            var h = hidden.reshape(-1, hidden.shape[2]).index_select(0, source); // (P*Tp, C) -> (N, C)
            var (lp, _) = LmHeadLogProbs.Compute(m.LmHead, h, targets, SequenceLogProbs.DefaultChunk, ScalarType.Float32, trainable);
            return torch.zeros(rows).index_add(0, rowOf, lp, 1); // (R)
        }
        long start = Stopwatch.GetTimestamp();
        double Lap()
        {
            long now = Stopwatch.GetTimestamp();
            double s = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
            start = now;
            return s;
        }
        var hidden = Trunk(policy); // (R, T, C) or packed
        times[0] = Lap();
        var detached = hidden.detach().requires_grad_(true);
        var pol = Sums(policy, detached, true);
        times[1] = Lap();
        Tensor refLp;
        using (torch.no_grad())
        {
            var refHidden = Trunk(reference);
            times[2] = Lap();
            refLp = Sums(reference, refHidden, false);
            times[3] = Lap();
        }
        int n = (int)(rows / 2);
        var counts = batch.CompletionMask[.., 1..].sum(1);
        var stats = new PairStats(pol[..n], pol[n..], refLp[..n], refLp[n..], counts[..n], counts[n..]);
        var loss = new Dpo(0.1).Compute(stats, new ObjectiveContext(true, 0, 1, null)).Losses.mean();
        Lap();
        loss.backward(); // LM head backward: fills detached.grad and the head's weight gradient
        times[4] = Lap();
        hidden.backward([detached.grad!]); // the trunk's backward
        times[5] = Lap();
        optimizer.step();
        optimizer.zero_grad();
        times[6] = Lap();
        times[7] = AttentionSeconds(batch, pack, path, cfg);
        long computedTokens = pack is null ? batch.InputIds.numel() : pack.Sequences * pack.Width;
        pack?.Dispose();
        return (times, computedTokens);
    }

    /// <summary>
    /// SDPA forward + backward on this batch's attention shapes for one layer (random q, k, v with H heads of size D),
    /// times the layer count: the attention share of the trunk along <paramref name="path"/>.
    /// </summary>
    private static double AttentionSeconds(PreferenceBatch batch, PackedRows? pack, ForwardPath path, ModelConfig cfg)
    {
        using var scope = torch.NewDisposeScope();
        long h = cfg.NumHeads, d = cfg.HeadDim;
        long b = pack is null ? batch.InputIds.shape[0] : path == ForwardPath.PackedMask ? pack.Sequences : 1;
        long t = pack is null ? batch.InputIds.shape[1] : path == ForwardPath.PackedMask ? pack.Width : pack.Sequences * pack.Width;
        var bias = path switch
        {
            ForwardPath.Padded => AttentionBias.Additive(Attention.AdditiveMask(batch.AttentionMask, t, ScalarType.Float32)),
            ForwardPath.PackedMask => AttentionBias.Additive(Attention.AdditiveMask(pack!.SegmentMask!, t, ScalarType.Float32)),
            _ => AttentionBias.Segmented(pack!.Segments),
        };
        var q = torch.randn(b, h, t, d).requires_grad_(true);
        var k = torch.randn(b, h, t, d).requires_grad_(true);
        var v = torch.randn(b, h, t, d).requires_grad_(true);
        var start = Stopwatch.GetTimestamp();
        var y = bias.Attend(q, k, v); // (B, H, T, D)
        y.sum().backward();
        return Stopwatch.GetElapsedTime(start).TotalSeconds * cfg.NumLayers;
    }
}
