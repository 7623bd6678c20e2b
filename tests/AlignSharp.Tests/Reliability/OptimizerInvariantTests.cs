using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// What one optimizer step must do: accumulation that equals a bigger batch (grad_norm at every step and the
/// parameters after several steps), clipping to the max norm exactly, and weight decay only on matrices.
/// Serial: bit-for-bit comparisons need torch's thread count and global generator left alone.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class OptimizerInvariantTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static TrainingOptions Options(int steps, int batch, int accum = 1) => new()
    {
        MaxSteps = steps, BatchSize = batch, GradientAccumulationSteps = accum, LearningRate = 1e-2, Seed = 7,
        LoggingSteps = 1, SaveTotalLimit = 0,
    };

    /// <summary>A tiny run in float64 (policy and reference), with the default objective DPO.</summary>
    private static TrainingSetup Float64Setup(IReadOnlyList<AlignSharp.Data.TokenizedPair> pairs)
    {
        var policy = TinyRun.Model();
        policy.to(ScalarType.Float64);
        var reference = TinyRun.Model();
        reference.to(ScalarType.Float64);
        return new TrainingSetup(policy, new FrozenReference(reference), new Dpo(0.1), pairs, [], 0);
    }

    [Fact]
    public void Accumulation_8x1_2x4_4x2_give_the_same_grad_norms_and_parameters_with_default_adamw()
    {
        // The runs differ only in how the 8 pairs of each step are split into micro-batches, i.e. in the order
        // float sums are taken. The model runs in float64 so that this order noise (~1e-16 relative) stays far
        // below AdamW's default epsilon (1e-8): in float32 it is ~1e-7 relative, and Adam normalises the noisy
        // gradient of the attention key bias (exactly zero in exact arithmetic, since softmax ignores a shift shared
        // by all keys) into full-size, order-dependent steps. With float64, an error in the 1/accum scaling (a
        // factor 2 or 4 in grad_norm) is caught at the first step. Measured (printed below): grad_norm differs by
        // at most ~2e-16 relative, parameters after 4 steps at learning rate 1e-2 by ~4e-13 (Adam divides the
        // noise of tiny gradients by sqrt(v) + 1e-8). The tolerances, 1e-9 relative on grad_norm and loss and 1e-9
        // absolute on parameters, leave room for other BLAS summation orders yet are far below any real error.
        var pairs = TinyRun.Pairs(8);
        (int Batch, int Accum)[] shapes = [(8, 1), (2, 4), (4, 2)];
        var runs = shapes.Select(r =>
        {
            var setup = Float64Setup(pairs);
            var log = new PreferenceTrainer(setup, Options(4, r.Batch, r.Accum), TinyRun.TempDir(), new RecordingObserver())
                .Run();
            return (r, setup, log);
        }).ToList();
        var (_, baseSetup, baseLog) = runs[0];
        Assert.Equal(4, baseLog.Count);
        foreach (var (r, setup, log) in runs.Skip(1))
        {
            string what = $"{r.Batch}x{r.Accum} vs 8x1";
            Assert.Equal(baseLog.Count, log.Count);
            double worstNorm = Enumerable.Range(0, log.Count)
                .Max(i => Math.Abs(log[i]["grad_norm"] - baseLog[i]["grad_norm"]) / baseLog[i]["grad_norm"]);
            double worstParam = baseSetup.Policy.parameters().Zip(setup.Policy.parameters())
                .Max(x => (x.First - x.Second).abs().max().item<double>());
            output.WriteLine($"{what}: largest relative grad_norm difference {worstNorm:E2}, parameter {worstParam:E2}");
            for (int i = 0; i < log.Count; i++)
            {
                foreach (var metric in new[] { "grad_norm", "loss" })
                {
                    double a = baseLog[i][metric], b = log[i][metric];
                    Assert.True(Math.Abs(a - b) <= 1e-9 * Math.Abs(a), $"{what}, step {i + 1}: {metric} {b:R} vs {a:R}");
                }
            }
            foreach (var ((name, pa), (_, pb)) in baseSetup.Policy.named_parameters().Zip(setup.Policy.named_parameters()))
            {
                double diff = (pa - pb).abs().max().item<double>();
                Assert.True(diff <= 1e-9, $"{what}: {name} differs by {diff:E2} after 4 steps");
            }
        }
        // The runs did move: the first step's update is about the learning rate per element.
        using var start = TinyRun.Model();
        start.to(ScalarType.Float64);
        var moved = baseSetup.Policy.parameters().Zip(start.parameters()).Max(x => (x.First - x.Second).abs().max().item<double>());
        Assert.True(moved > 1e-3, $"parameters moved only {moved:E2}");
    }

    [Fact]
    public void Clipping_scales_gradients_to_the_max_norm_and_leaves_smaller_norms_alone()
    {
        // The trainer zeroes gradients at the start of a step, so after a 1-step run p.grad holds that step's
        // gradient as the optimizer saw it (after clipping). The same model and data give the same raw gradient.
        var pairs = TinyRun.Pairs(8);
        var free = TinyRun.Setup(pairs);
        var freeLog = Train(free, Options(1, 8) with { MaxGradNorm = 0 });
        double norm = freeLog[0]["grad_norm"];
        Assert.True(norm > 0);
        Assert.Equal(norm, TotalNorm(free.Policy), 5); // the logged norm is the gradient's 2-norm

        double max = norm / 10;
        var clipped = TinyRun.Setup(pairs);
        var clippedLog = Train(clipped, Options(1, 8) with { MaxGradNorm = max });
        Assert.Equal(norm, clippedLog[0]["grad_norm"]); // logged before clipping
        // torch's coefficient is max / (norm + 1e-6): the clipped norm is max up to 1e-6 / norm relative.
        double coef = max / (norm + 1e-6);
        Assert.True(Math.Abs(TotalNorm(clipped.Policy) - max) <= 1e-5 * max, $"clipped norm {TotalNorm(clipped.Policy)}, max {max}");
        foreach (var ((name, f), (_, c)) in Grads(free.Policy).Zip(Grads(clipped.Policy)))
        {
            double err = (c - f * coef).abs().max().item<float>(), scale = f.abs().max().item<float>() * coef;
            Assert.True(err <= 1e-6 * scale + 1e-12, $"{name}: clipped gradient is not the raw one times {coef} ({err:E2})");
        }

        var loose = TinyRun.Setup(pairs);
        Train(loose, Options(1, 8) with { MaxGradNorm = norm * 10 });
        foreach (var ((name, f), (_, l)) in Grads(free.Policy).Zip(Grads(loose.Policy)))
            TensorAssert.BitEqual(f, l, $"{name} (norm below the max: untouched)");
    }

    [Fact]
    public void Weight_decay_shrinks_matrices_and_never_touches_one_dimensional_tensors()
    {
        // With every gradient zero, AdamW's Adam part is 0 / (0 + eps) = 0, so only the decoupled decay
        // p ← p·(1 − lr·wd) acts: matrices scale by 0.95, biases and norm weights must not move at all.
        using var model = TinyRun.Model();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var optimizer = PreferenceTrainer.CreateOptimizer(model, new TrainingOptions { LearningRate = 0.1, WeightDecay = 0.5 });
        var zero = model.parameters().Select(p => (p * 0).sum()).Aggregate((a, b) => a + b);
        zero.backward();
        optimizer.step();
        int matrices = 0, vectors = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.dim() >= 2)
            {
                matrices++;
                double err = (p - before[name] * 0.95).abs().max().item<float>();
                Assert.True(err <= 1e-6 * before[name].abs().max().item<float>(), $"{name}: not decayed by 0.95 ({err:E2})");
            }
            else
            {
                vectors++;
                TensorAssert.BitEqual(before[name], p, $"{name} (1-D: no decay)");
            }
        }
        Assert.True(matrices > 0 && vectors > 0, $"{matrices} matrices, {vectors} vectors");
    }

    private static IReadOnlyList<Dictionary<string, double>> Train(TrainingSetup setup, TrainingOptions options) =>
        new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();

    private static List<(string Name, Tensor Grad)> Grads(CausalLM model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => (p.name, p.parameter.grad!)).ToList();

    private static double TotalNorm(CausalLM model) =>
        Math.Sqrt(Grads(model).Sum(g => g.Grad.to(ScalarType.Float64).pow(2).sum().item<double>()));
}
