using System.Text.Json.Nodes;
using AlignSharp.Models;
using AlignSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>
/// float32 vs bfloat16 matmuls (<c>training.precision</c>) A/B in one process: one policy and one frozen reference,
/// each DPO step of the synthetic batch (reference forward every step, as <c>step</c>'s identical-work run) timed
/// once per precision, the order alternating step by step, so both precisions see the same machine load. Also the
/// log-prob error of bfloat16 against float32 on that batch (no grad), with the LM head in float32 (the library's
/// choice) and in bfloat16.
/// </summary>
internal static class PrecisionBench
{
    /// <summary>Runs <paramref name="warmup"/> + <paramref name="steps"/> rounds of (float32, bfloat16) steps and returns the JSON record.</summary>
    public static JsonObject Run(BenchConfigs configs, string model, int threads, int steps, int warmup, long seed, bool headBf16)
    {
        torch.set_num_threads(threads);
        string loadBefore = LoadAverage();
        var cfg = configs.Model(model);
        using var batch = SyntheticBatch.Create(cfg.VocabSize, configs.Batch);
        using var policy = ModelFactory.Create(cfg, seed);
        policy.train();
        using var reference = ModelFactory.Create(cfg, seed);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        reference.eval();

        var error = LogProbError(reference, batch);

        var objective = new Dpo(0.1);
        using var optimizer = torch.optim.AdamW(policy.parameters(), lr: 1e-6, weight_decay: 0);
        var times = new Dictionary<string, List<double>> { ["float32"] = [], ["bfloat16"] = [] };
        var cpu = new Dictionary<string, List<double>> { ["float32"] = [], ["bfloat16"] = [] };
        var rounds = new JsonArray();
        int total = 2 * (warmup + steps);
        for (int i = 0; i < warmup + steps; i++)
        {
            string[] order = i % 2 == 0 ? ["float32", "bfloat16"] : ["bfloat16", "float32"];
            var round = new JsonObject();
            foreach (var precision in order)
            {
                ScalarType? dtype = precision == "bfloat16" ? ScalarType.BFloat16 : null;
                policy.UseMatmulDType(dtype, headBf16);
                reference.UseMatmulDType(dtype, headBf16);
                var timing = StepBench.Step(policy, reference, null, batch, LogProbPath.Selected, objective, optimizer,
                    2 * i + (precision == order[0] ? 0 : 1), total);
                if (i < warmup) continue;
                times[precision].Add(timing["total"]!.GetValue<double>());
                cpu[precision].Add(timing["cpu"]!.GetValue<double>());
                round[precision] = timing;
            }
            if (i >= warmup) rounds.Add(round);
        }
        double fp32 = Stats.Median(times["float32"]), bf16 = Stats.Median(times["bfloat16"]);
        double fp32Cpu = Stats.Median(cpu["float32"]), bf16Cpu = Stats.Median(cpu["bfloat16"]);
        return new JsonObject
        {
            ["kind"] = "precision_ab", ["model"] = model, ["threads"] = threads, ["steps"] = steps,
            ["lm_head_precision"] = headBf16 ? "bfloat16" : "float32",
            ["float32_step_s"] = fp32, ["bfloat16_step_s"] = bf16, ["bf16_over_fp32"] = bf16 / fp32,
            ["float32_step_cpu_s"] = fp32Cpu, ["bfloat16_step_cpu_s"] = bf16Cpu, ["bf16_over_fp32_cpu"] = bf16Cpu / fp32Cpu,
            ["cpu_has_bf16"] = AlignSharp.Runtime.CpuFeatures.HasBFloat16,
            ["loadavg_before"] = loadBefore, ["loadavg_after"] = LoadAverage(),
            ["logprob_error"] = error, ["rounds"] = rounds,
        };
    }

    /// <summary>
    /// |bfloat16 - float32| of the batch's completion log-prob sums (R rows), max and mean, with the LM head in float32
    /// and in bfloat16.
    /// </summary>
    private static JsonObject LogProbError(CausalLM model, SyntheticBatch batch)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Tensor Sums(ScalarType? dtype, bool head)
        {
            model.UseMatmulDType(dtype, head);
            return StepBench.LogProbs(model, batch, LogProbPath.Selected).to(ScalarType.Float64);
        }
        var fp32 = Sums(null, false);
        var result = new JsonObject { ["max_abs_sum_float32"] = fp32.abs().max().item<double>() };
        foreach (var head in new[] { false, true })
        {
            var diff = (Sums(ScalarType.BFloat16, head) - fp32).abs();
            result[head ? "lm_head_bfloat16" : "lm_head_float32"] = new JsonObject
            {
                ["max_abs"] = diff.max().item<double>(), ["mean_abs"] = diff.mean().item<double>(),
            };
        }
        model.UseMatmulDType(null, false);
        result["lm_head_alone_at_logit_scale"] = HeadAlone(model, batch);
        return result;
    }

    /// <summary>
    /// The LM head's own contribution at a trained model's logit scale: a random-weight model's logits are near zero,
    /// where bfloat16's absolute rounding is tiny, so this scales the head weight until the largest |logit| of the
    /// batch is <see cref="LogitScale"/> (trained LMs reach 20-30) and compares completion log-prob sums with the head's
    /// GEMM in float32 and in bfloat16, the trunk in float32 for both.
    /// </summary>
    private static JsonObject HeadAlone(CausalLM model, SyntheticBatch b)
    {
        using var scope = NewDisposeScope();
        var hidden = model.ForwardHidden(b.InputIds, b.AttentionMask, b.PositionIds); // (R, T, C)
        long rows = hidden.shape[0], t = hidden.shape[1];
        var idx = b.CompletionMask[.., 1..].reshape(-1).nonzero().squeeze(1); // (N) scored among R*(T-1)
        var h = hidden[.., ..(int)(t - 1)].reshape(-1, hidden.shape[2]).index_select(0, idx); // (R*(T-1), C) -> (N, C)
        var targets = b.InputIds[.., 1..].reshape(-1).index_select(0, idx); // (N)
        var rowOf = idx.div(t - 1, rounding_mode: RoundingMode.floor); // (N)
        var w = model.named_parameters().First(p => p.name == model.Config.Family.HeadName
            || (model.Config.TieWordEmbeddings && p.name == model.Config.Family.EmbeddingName)).parameter.detach();
        double scale = LogitScale / MatmulCast.Linear(h, w, null, null).abs().max().item<float>();
        var ws = w * scale;
        Tensor Sums(ScalarType? dtype)
        {
            var lp = MatmulCast.Linear(h, ws, null, dtype).log_softmax(1).gather(1, targets.unsqueeze(1)).squeeze(1); // (N)
            return torch.zeros(rows, ScalarType.Float64).index_add(0, rowOf, lp.to(ScalarType.Float64), 1); // (R)
        }
        var fp32 = Sums(null);
        var diff = (Sums(ScalarType.BFloat16) - fp32).abs();
        return new JsonObject
        {
            ["max_abs_logit"] = LogitScale, ["max_abs_sum_float32"] = fp32.abs().max().item<double>(),
            ["max_abs"] = diff.max().item<double>(), ["mean_abs"] = diff.mean().item<double>(),
        };
    }

    /// <summary>The largest |logit| the head-alone comparison scales the batch to.</summary>
    private const double LogitScale = 25;

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";
}

/// <summary>
/// One projection's forward + backward (y = x W^T, grads of x and W), float32 vs <see cref="MatmulCast"/>'s bfloat16
/// (input, weight and output cast on every call) vs bfloat16 with the weight cast once beforehand: how much of the
/// bfloat16 GEMM's speed the casts keep. Medians of wall and process CPU seconds, the three variants interleaved.
/// </summary>
internal static class ProjectionBench
{
    public static JsonObject Run(int threads, int tokens, int inFeatures, int outFeatures, int reps)
    {
        torch.set_num_threads(threads);
        using var x = torch.randn(tokens, inFeatures).requires_grad_(true);
        using var w = torch.randn(outFeatures, inFeatures).mul_(0.02).requires_grad_(true);
        using var wBf16 = w.detach().to(ScalarType.BFloat16).requires_grad_(true);
        using var gy = torch.randn(tokens, outFeatures);
        var variants = new (string Name, Func<Tensor> Forward)[]
        {
            ("float32", () => MatmulCast.Linear(x, w, null, null)),
            ("bfloat16_cast", () => MatmulCast.Linear(x, w, null, ScalarType.BFloat16)),
            ("bfloat16_weight_precast", () => torch.nn.functional.linear(x.to(ScalarType.BFloat16), wBf16).to(ScalarType.Float32)),
        };
        var wall = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var cpu = variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (int r = 0; r < reps + 1; r++)
            foreach (var (name, forward) in r % 2 == 0 ? variants : variants.Reverse())
            {
                using var scope = NewDisposeScope();
                var c0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var sw = System.Diagnostics.Stopwatch.StartNew();
                forward().backward([gy]);
                double s = sw.Elapsed.TotalSeconds, c = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds;
                x.grad?.zero_();
                w.grad?.zero_();
                wBf16.grad?.zero_();
                if (r == 0) continue; // warm-up
                wall[name].Add(s);
                cpu[name].Add(c);
            }
        var o = new JsonObject
        {
            ["kind"] = "projection", ["threads"] = threads, ["tokens"] = tokens, ["in"] = inFeatures, ["out"] = outFeatures,
            ["reps"] = reps, ["gflop_fwd_bwd"] = 6.0 * tokens * inFeatures * outFeatures / 1e9,
        };
        foreach (var (name, _) in variants)
            o[name] = new JsonObject { ["wall_s"] = Stats.Median(wall[name]), ["cpu_s"] = Stats.Median(cpu[name]) };
        return o;
    }
}
