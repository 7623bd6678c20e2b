using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>How the reference log-probs of a step are obtained.</summary>
internal enum ReferenceMode
{
    /// <summary>A frozen reference model runs a no-grad forward every step (TRL's default).</summary>
    Forward,
    /// <summary>Computed once before training (the reference equals the initial policy) and reused: no reference model kept.</summary>
    Cached,
}

/// <summary>How per-row completion log-probs are computed.</summary>
internal enum LogProbPath
{
    /// <summary>AlignSharp's <see cref="SequenceLogProbs"/>: LM head only on scored positions, chunked.</summary>
    Selected,
    /// <summary>Full (R, T, V) logits and log-softmax (<see cref="NaiveLogProbs"/>).</summary>
    Full,
}

/// <summary>
/// Options of one timed DPO-step run. <paramref name="Precision"/>: the matmul dtype of policy and reference
/// (<c>training.precision</c>; float32 or bfloat16), <paramref name="HeadPrecision"/>: whether the LM head follows it
/// (the library keeps the head in float32; bfloat16 here only to measure the alternative).
/// </summary>
internal sealed record StepOptions(string Model, int Threads, int Steps, int Warmup, ReferenceMode Reference, LogProbPath LogProbs, long Seed,
    bool Checkpointing = false, string Precision = "float32", bool HeadPrecision = false)
{
    /// <summary>The matmul dtype <see cref="Precision"/> names (null: float32, no casts).</summary>
    public ScalarType? MatmulDType => Precision switch
    {
        "float32" => null,
        "bfloat16" => ScalarType.BFloat16,
        _ => throw new BenchException($"--precision: '{Precision}' is not float32 or bfloat16"),
    };
}

/// <summary>
/// One DPO training step on the synthetic batch, timed per phase: policy forward (log-probs with grad), reference
/// forward (no grad) or cache read, DPO loss + backward, AdamW step + zero_grad. The same step as
/// bench/pytorch_dpo_step.py.
/// </summary>
internal static class StepBench
{
    /// <summary>Runs warmup + timed steps and returns the JSON record.</summary>
    public static JsonObject Run(BenchConfigs configs, StepOptions o)
    {
        torch.set_num_threads(o.Threads);
        var cfg = configs.Model(o.Model);
        var shape = configs.Batch;
        using var batch = SyntheticBatch.Create(cfg.VocabSize, shape);
        using var policy = ModelFactory.Create(cfg, o.Seed);
        policy.train();
        policy.GradientCheckpointing = o.Checkpointing;
        policy.UseMatmulDType(o.MatmulDType, o.HeadPrecision);
        CausalLM? reference = null;
        Tensor? cached = null;
        if (o.Reference == ReferenceMode.Forward)
        {
            reference = ModelFactory.Create(cfg, o.Seed); // same seed: identical weights to the initial policy
            foreach (var p in reference.parameters()) p.requires_grad = false;
            reference.eval();
            reference.UseMatmulDType(o.MatmulDType, o.HeadPrecision);
        }
        else
        {
            using var _ = torch.no_grad();
            cached = LogProbs(policy, batch, o.LogProbs);
        }
        var objective = new Dpo(0.1);
        var parameters = policy.parameters().ToList();
        // The trainer's optimizer (PreferenceTrainer.OptimizerFor): AdamW fused over flat buffers.
        using var optimizer = new AlignSharp.Training.Fused.AdamW([new TorchSharp.Modules.AdamW.ParamGroup(parameters, 1e-6, 0.9, 0.999, 1e-8, 0, false, false)]);
        long paramCount = parameters.Sum(p => p.numel());
        // Initialisation temporaries (randn before scaling) are released by finalizers; collect them so the
        // peak below is the training step's, not construction's.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        double rssInit = ProcessMemory.RssMiB();
        bool peakReset = ProcessMemory.ResetPeak();
        var steps = new JsonArray();
        var phasePeaks = new JsonArray(); // per step (warm-up included): VmHWM at each phase's end, reset at its start
        double peak = ProcessMemory.RssMiB();
        double PhaseEnd()
        {
            double p = ProcessMemory.PeakMiB();
            ProcessMemory.ResetPeak();
            peak = Math.Max(peak, p);
            return p;
        }
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            var timing = Step(policy, reference, cached, batch, o.LogProbs, objective, optimizer, i, o.Warmup + o.Steps, PhaseEnd);
            phasePeaks.Add(timing["memory"]!.DeepClone());
            timing.Remove("memory");
            if (i >= o.Warmup) steps.Add(timing);
        }
        var result = new JsonObject
        {
            ["kind"] = "step", ["model"] = o.Model, ["threads"] = o.Threads,
            ["reference"] = o.Reference.ToString().ToLowerInvariant(), ["logprobs"] = o.LogProbs.ToString().ToLowerInvariant(),
            ["checkpointing"] = o.Checkpointing, ["precision"] = o.Precision,
            ["lm_head_precision"] = o.HeadPrecision ? o.Precision : "float32",
            ["params"] = paramCount, ["tokens_per_step"] = batch.Tokens, ["scored_per_step"] = batch.Scored,
            ["rss_after_init_mib"] = rssInit, ["peak_rss_mib"] = Math.Max(peak, ProcessMemory.PeakMiB()), ["peak_is_training_only"] = peakReset,
            ["phase_peak_rss_mib"] = phasePeaks,
            ["steps"] = steps,
        };
        reference?.Dispose();
        cached?.Dispose();
        return result;
    }

    /// <summary>
    /// One DPO step (policy log-probs with grad, reference forward or cached log-probs, loss, backward, AdamW step and
    /// zero_grad), timed by phase; with <paramref name="phaseEnd"/> (called at each phase's end, returns that phase's
    /// peak RSS) also a "memory" object of the four peaks.
    /// </summary>
    internal static JsonObject Step(CausalLM policy, CausalLM? reference, Tensor? cached, SyntheticBatch batch, LogProbPath path,
        IPreferenceObjective objective, torch.optim.Optimizer optimizer, int i, int total, Func<double>? phaseEnd = null)
    {
        double PhaseEnd() => phaseEnd?.Invoke() ?? 0;
        using var scope = torch.NewDisposeScope();
        int pairs = (int)batch.InputIds.shape[0] / 2;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var pol = LogProbs(policy, batch, path); // (2B)
        double t1 = sw.Elapsed.TotalSeconds;
        double m1 = PhaseEnd();
        Tensor refLp;
        if (reference is not null)
        {
            using var _ = torch.no_grad();
            refLp = LogProbs(reference, batch, path);
        }
        else
        {
            refLp = cached!;
        }
        double t2 = sw.Elapsed.TotalSeconds;
        double m2 = PhaseEnd();
        using var counts = batch.CompletionMask[.., 1..].sum(1);
        var stats = new PairStats(pol[..pairs], pol[pairs..], refLp[..pairs], refLp[pairs..], counts[..pairs], counts[pairs..]);
        var output = objective.Compute(stats, new ObjectiveContext(true, i, total, null));
        var loss = output.Losses.mean();
        loss.backward();
        double t3 = sw.Elapsed.TotalSeconds;
        double m3 = PhaseEnd();
        optimizer.step();
        optimizer.zero_grad();
        double t4 = sw.Elapsed.TotalSeconds;
        double m4 = PhaseEnd();
        var record = new JsonObject
        {
            ["policy_forward"] = t1, ["reference_forward"] = t2 - t1, ["backward"] = t3 - t2,
            ["optimizer"] = t4 - t3, ["total"] = t4, ["loss"] = loss.item<float>(),
            // CPU seconds of the whole process over the step: under load (other processes sharing the cores) it counts
            // the work done rather than the time spent waiting for a core, so A/B ratios of it are steadier than wall time.
            ["cpu"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds,
        };
        if (phaseEnd is not null)
            record["memory"] = new JsonObject { ["policy_forward"] = m1, ["reference_forward"] = m2, ["backward"] = m3, ["optimizer"] = m4 };
        return record;
    }

    internal static Tensor LogProbs(CausalLM model, SyntheticBatch b, LogProbPath path)
    {
        if (path == LogProbPath.Full) return NaiveLogProbs.Compute(model, b.InputIds, b.AttentionMask, b.PositionIds, b.CompletionMask);
        var rows = SequenceLogProbs.Compute(model, b.InputIds, b.AttentionMask, b.PositionIds, b.CompletionMask);
        rows.Counts.Dispose();
        return rows.Sums;
    }
}
