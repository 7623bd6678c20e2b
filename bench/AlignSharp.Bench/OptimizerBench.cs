using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using FusedAdamW = AlignSharp.Training.Fused.AdamW;

namespace AlignSharp.Bench;

/// <summary>
/// AdamW step time, per-parameter (TorchSharp's <see cref="AdamW"/>) against fused over flat buffers
/// (<see cref="AlignSharp.Training.Fused.AdamW"/>), on two copies of one model shape with the same random gradients, alternating A/B step by
/// step in one process (the trainer's two parameter groups, weight decay 0.01). Also reports how far the two copies'
/// parameters drifted apart after the steps.
/// </summary>
internal static class OptimizerBench
{
    /// <summary>Runs <paramref name="steps"/> timed steps of each after one warm-up step each.</summary>
    public static JsonObject Run(BenchConfigs configs, string model, int threads, int steps, long seed)
    {
        torch.set_num_threads(threads);
        var cfg = configs.Model(model);
        using var a = ModelFactory.Create(cfg, seed);
        using var b = ModelFactory.Create(cfg, seed);
        var options = new TrainingOptions { LearningRate = 1e-4, WeightDecay = 0.01 };
        List<(string, Parameter)> Named(CausalLM m) => [.. m.named_parameters().Select(p => (p.name, p.parameter))];
        using var plain = new AdamW(PreferenceTrainer.ParamGroups(Named(a), options));
        using var fused = new FusedAdamW(PreferenceTrainer.ParamGroups(Named(b), options));
        var plainTimes = new List<double>();
        var fusedTimes = new List<double>();
        using var g = new Generator((ulong)seed);
        for (int i = 0; i <= steps; i++)
        {
            using var scope = NewDisposeScope();
            foreach (var ((_, pa), (_, pb)) in Named(a).Zip(Named(b)))
            {
                var grad = randn(pa.shape, generator: g) * 1e-3;
                using (no_grad())
                {
                    if (pa.grad is null) pa.grad = grad.clone().DetachFromDisposeScope(); else pa.grad.copy_(grad);
                    if (pb.grad is null) pb.grad = grad.clone().DetachFromDisposeScope(); else pb.grad.copy_(grad);
                }
            }
            bool fusedFirst = i % 2 == 1;
            double Time(AdamW o) { var t = Stopwatch.GetTimestamp(); o.step(); return Stopwatch.GetElapsedTime(t).TotalSeconds; }
            double tf = 0, tp;
            if (fusedFirst) tf = Time(fused);
            tp = Time(plain);
            if (!fusedFirst) tf = Time(fused);
            if (i == 0) continue; // warm-up
            plainTimes.Add(tp);
            fusedTimes.Add(tf);
        }
        double drift = Named(a).Zip(Named(b)).Max(x => (x.First.Item2 - x.Second.Item2).abs().max().item<float>());
        double Median(List<double> xs) { var s = xs.Order().ToArray(); return s[s.Length / 2]; }
        return new JsonObject
        {
            ["kind"] = "optimizer", ["model"] = model, ["threads"] = threads, ["steps"] = steps,
            ["params"] = Named(a).Sum(p => p.Item2.numel()), ["tensors"] = Named(a).Count,
            ["per_parameter_seconds"] = Median(plainTimes), ["fused_seconds"] = Median(fusedTimes),
            ["speedup"] = Median(plainTimes) / Median(fusedTimes), ["max_abs_param_difference"] = drift,
        };
    }
}
