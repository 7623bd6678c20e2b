using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Adapters;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>Options of one adapter-memory run (bench/adapters.sh).</summary>
/// <param name="LoraRank">0 for full fine-tuning with a frozen reference copy; otherwise LoRA of this rank with the
/// adapter-disabled reference (no copy).</param>
/// <param name="Targets">LoRA target modules, or null for the family's defaults.</param>
/// <param name="BaseDType">Dtype of the frozen base under LoRA (adapters and their optimizer stay float32).</param>
internal sealed record AdapterStepOptions(string Model, int Threads, int Steps, int Warmup, int LoraRank,
    IReadOnlyList<string>? Targets, ScalarType BaseDType, bool Checkpointing, long Seed);

/// <summary>
/// Peak resident memory and tokens/s of DPO steps at real model shapes (random weights): full fine-tuning with a
/// frozen reference copy (policy, reference, gradients and AdamW moments all float32), or LoRA on a frozen base held
/// in <see cref="AdapterStepOptions.BaseDType"/> whose reference is the base with the adapter disabled.
/// </summary>
internal static class AdapterStepBench
{
    /// <summary>Builds the models, runs warmup + timed steps, returns the JSON record.</summary>
    public static JsonObject Run(BenchConfigs configs, AdapterStepOptions o)
    {
        torch.set_num_threads(o.Threads);
        var cfg = configs.Model(o.Model);
        var shape = configs.Batch;
        using var batch = SyntheticBatch.Create(cfg.VocabSize, shape);
        using var policy = ModelFactory.Create(cfg, o.Seed);
        CausalLM? copy = null;
        LoraAdapter? adapter = null;
        IReadOnlyList<Parameter> trainable;
        if (o.LoraRank > 0)
        {
            if (o.BaseDType != ScalarType.Float32) policy.to(o.BaseDType);
            adapter = LoraAdapter.Attach(policy, new LoraOptions { R = o.LoraRank, Alpha = 2 * o.LoraRank, TargetModules = o.Targets });
            trainable = [.. adapter.NamedParameters.Select(p => p.Parameter)];
        }
        else
        {
            copy = ModelFactory.Create(cfg, o.Seed); // the frozen reference copy, equal to the initial policy
            foreach (var p in copy.parameters()) p.requires_grad = false;
            copy.eval();
            trainable = [.. policy.parameters()];
        }
        policy.train();
        policy.GradientCheckpointing = o.Checkpointing;
        var objective = new Dpo(0.1);
        using var optimizer = optim.AdamW(trainable, lr: 1e-6, weight_decay: 0);
        long total = policy.parameters().Sum(p => p.numel()), trained = trainable.Sum(p => p.numel());
        GC.Collect();
        GC.WaitForPendingFinalizers();
        double rssInit = ProcessMemory.RssMiB();
        bool peakReset = ProcessMemory.ResetPeak();
        var steps = new JsonArray();
        int pairs = shape.Pairs;
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var pol = LogProbs(policy, batch); // (2B)
            double t1 = sw.Elapsed.TotalSeconds;
            Tensor refLp;
            using (no_grad())
            using (adapter?.Disable())
                refLp = LogProbs(copy ?? policy, batch); // the copy, or the policy with its adapter off
            double t2 = sw.Elapsed.TotalSeconds;
            using var counts = batch.CompletionMask[.., 1..].sum(1);
            var stats = new PairStats(pol[..pairs], pol[pairs..], refLp[..pairs], refLp[pairs..], counts[..pairs], counts[pairs..]);
            var loss = objective.Compute(stats, new ObjectiveContext(true, i, o.Warmup + o.Steps, null)).Losses.mean();
            loss.backward();
            double t3 = sw.Elapsed.TotalSeconds;
            optimizer.step();
            optimizer.zero_grad();
            double t4 = sw.Elapsed.TotalSeconds;
            if (i < o.Warmup) continue;
            steps.Add(new JsonObject
            {
                ["policy_forward"] = t1, ["reference_forward"] = t2 - t1, ["backward"] = t3 - t2,
                ["optimizer"] = t4 - t3, ["total"] = t4, ["loss"] = loss.to(ScalarType.Float32).item<float>(),
            });
        }
        double mean = steps.Average(s => s!["total"]!.GetValue<double>());
        var result = new JsonObject
        {
            ["kind"] = "adapter-step", ["model"] = o.Model, ["threads"] = o.Threads,
            ["mode"] = o.LoraRank > 0 ? $"lora-r{o.LoraRank}" : "full", ["reference"] = o.LoraRank > 0 ? "adapter-disabled" : "frozen-copy",
            ["base_dtype"] = o.LoraRank > 0 ? o.BaseDType.ToString().ToLowerInvariant() : "float32",
            ["targets"] = adapter is null ? null : new JsonArray([.. adapter.TargetModules.Select(t => JsonValue.Create(t))]),
            ["checkpointing"] = o.Checkpointing, ["params"] = total, ["trainable_params"] = trained,
            ["tokens_per_step"] = batch.Tokens, ["rss_after_init_mib"] = rssInit, ["peak_rss_mib"] = ProcessMemory.PeakMiB(),
            ["peak_is_training_only"] = peakReset, ["step_seconds"] = mean, ["tokens_per_second"] = batch.Tokens / mean,
            ["steps"] = steps,
        };
        adapter?.Dispose();
        copy?.Dispose();
        return result;
    }

    private static Tensor LogProbs(CausalLM model, SyntheticBatch b)
    {
        var rows = SequenceLogProbs.Compute(model, b.InputIds, b.AttentionMask, b.PositionIds, b.CompletionMask);
        rows.Counts.Dispose();
        return rows.Sums.to(ScalarType.Float32);
    }
}
