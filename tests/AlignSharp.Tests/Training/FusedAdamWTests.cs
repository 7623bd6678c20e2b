using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using FusedAdamW = AlignSharp.Training.Fused.AdamW;

namespace AlignSharp.Tests.Training;

/// <summary>
/// <see cref="AlignSharp.Training.Fused.AdamW"/> against TorchSharp's per-parameter <see cref="AdamW"/> on the same model, groups and
/// gradients. Tolerance: the fused step runs the same element-wise formulas in the same order, only over one long
/// buffer instead of one tensor at a time, so an element can land in a vectorised body in one and a scalar tail in the
/// other (a fused multiply-add rounds once, the scalar path twice): parameters and moments agree to a few float32 ulps,
/// checked as |diff| &lt;= 1e-7 + 1e-6 |value| after five steps with weight decay and a changing learning rate. The
/// optimizer file is TorchSharp's format either way, so a resumed fused run continues bit for bit.
/// </summary>
public sealed class FusedAdamWTests
{
    private static TrainingOptions Options => new() { LearningRate = 1e-2, WeightDecay = 0.1, AdamEpsilon = 1e-6 };

    private static List<(string Name, Parameter Parameter)> Named(CausalLM model) =>
        [.. model.named_parameters().Select(p => (p.name, p.parameter))];

    /// <summary>A loss that reaches every parameter: the summed log-probs of a fixed batch, weighted per row.</summary>
    private static void Backward(CausalLM model, int step)
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[,] { { 3, 14, 15, 9, 2, 6 }, { 5, 3, 5, 8, 9, 7 } });
        var mask = ones_like(ids);
        var completion = tensor(new float[,] { { 0, 0, 1, 1, 1, 1 }, { 0, 1, 1, 1, 1, 1 } });
        var sums = SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion).Sums;
        (sums * tensor(new[] { 1f, -0.5f - step })).sum().backward();
    }

    private static void Train(CausalLM model, AdamW optimizer, int steps, int from = 0)
    {
        for (int i = from; i < from + steps; i++)
        {
            optimizer.zero_grad();
            Backward(model, i);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = 1e-2 / (1 + i); // the trainer's schedule sets it
            optimizer.step();
        }
    }

    private static float[] Values(Tensor t) => t.detach().cpu().reshape(-1).data<float>().ToArray();

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-7 + 1e-6 * Math.Abs(expected[i]),
                $"{what}[{i}]: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Fused_steps_equal_the_per_parameter_adamw()
    {
        using var a = TinyRun.Model(5);
        using var b = TinyRun.Model(5);
        using var plain = new AdamW(PreferenceTrainer.ParamGroups(Named(a), Options));
        using var fused = new FusedAdamW(PreferenceTrainer.ParamGroups(Named(b), Options));
        var before = Named(a).ToDictionary(p => p.Name, p => Values(p.Parameter));
        Train(a, plain, 5);
        Train(b, fused, 5);

        var plainState = plain.state_dict().State.Cast<AdamW.State>().ToList();
        var fusedState = fused.state_dict().State.Cast<AdamW.State>().ToList();
        foreach (var (((name, pa), (_, pb)), i) in Named(a).Zip(Named(b)).Select((x, i) => (x, i)))
        {
            var va = Values(pa);
            Assert.True(va.Zip(before[name]).Any(x => x.First != x.Second), $"{name} did not move");
            AssertClose(va, Values(pb), name);
        }
        Assert.Equal(plainState.Count, fusedState.Count);
        for (int i = 0; i < plainState.Count; i++)
        {
            Assert.Equal(5, fusedState[i].step);
            Assert.Equal(plainState[i].step, fusedState[i].step);
            AssertClose(Values(plainState[i].exp_avg), Values(fusedState[i].exp_avg), $"exp_avg {i}");
            AssertClose(Values(plainState[i].exp_avg_sq), Values(fusedState[i].exp_avg_sq), $"exp_avg_sq {i}");
        }
    }

    [Fact]
    public void Saved_fused_state_resumes_bit_for_bit_and_is_torchsharps_format()
    {
        using var whole = TinyRun.Model(6);
        using var wholeOpt = new FusedAdamW(PreferenceTrainer.ParamGroups(Named(whole), Options));
        Train(whole, wholeOpt, 4);

        using var first = TinyRun.Model(6);
        using var firstOpt = new FusedAdamW(PreferenceTrainer.ParamGroups(Named(first), Options));
        Train(first, firstOpt, 2);
        string file = Path.Combine(TestTemp.Dir("fused-adamw"), "optimizer.bin");
        firstOpt.save_state_dict(file);

        using var resumed = TinyRun.Model(99); // other weights, overwritten in place as the checkpoint loader does
        using (no_grad())
            foreach (var ((_, p), (_, q)) in Named(resumed).Zip(Named(first))) p.copy_(q);
        using var resumedOpt = new FusedAdamW(PreferenceTrainer.ParamGroups(Named(resumed), Options));
        resumedOpt.load_state_dict(file);
        Train(resumed, resumedOpt, 2, from: 2);
        foreach (var ((name, p), (_, q)) in Named(whole).Zip(Named(resumed)))
            Assert.Equal(Values(p), Values(q)); // bit for bit

        using var plainModel = TinyRun.Model(6);
        using var plain = new AdamW(PreferenceTrainer.ParamGroups(Named(plainModel), Options));
        plain.load_state_dict(file); // the per-parameter optimizer reads the fused optimizer's file
        var expected = firstOpt.state_dict().State.Cast<AdamW.State>().ToList();
        var read = plain.state_dict().State.Cast<AdamW.State>().ToList();
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(2, read[i].step);
            Assert.Equal(Values(expected[i].exp_avg), Values(read[i].exp_avg));
            Assert.Equal(Values(expected[i].exp_avg_sq), Values(read[i].exp_avg_sq));
        }
    }

    [Fact]
    public void A_group_spanning_several_slices_steps_like_the_per_parameter_adamw()
    {
        // The fused update runs slice by slice (FusedAdamW.Slice elements): members straddling slice borders and a
        // ragged last slice must step exactly as the per-parameter optimizer steps them.
        long big = FusedAdamW.Slice + 12_345, small = FusedAdamW.Slice / 2 + 7; // 3 slices, the last one ragged
        using var gen = new Generator(21);
        using var scope = NewDisposeScope();
        Parameter[] Make() => [new Parameter(randn([big], generator: new Generator(1))), new Parameter(randn([small / 7, 7], generator: new Generator(2)))];
        var a = Make();
        var b = Make();
        var before = a.Select(Values).ToArray();
        using var plain = new AdamW([new AdamW.ParamGroup(a, 1e-2, 0.9, 0.999, 1e-6, 0.1, false, false)]);
        using var fused = new FusedAdamW([new AdamW.ParamGroup(b, 1e-2, 0.9, 0.999, 1e-6, 0.1, false, false)]);
        for (int step = 0; step < 3; step++)
        {
            foreach (var (pa, pb) in a.Zip(b))
            {
                var g = randn(pa.shape, generator: gen);
                if (step == 0) { pa.grad = g.clone(); pb.grad = g.clone(); }
                else { pa.grad!.copy_(g); pb.grad!.copy_(g); } // in place, as backward accumulates
            }
            plain.step();
            fused.step();
        }
        foreach (var ((pa, pb), start) in a.Zip(b).Zip(before))
        {
            Assert.True(Values(pa).Zip(start).Any(x => x.First != x.Second), "did not move");
            AssertClose(Values(pa), Values(pb), $"parameter of {pa.numel()} elements");
        }
        var plainState = plain.state_dict().State.Cast<AdamW.State>().ToList();
        var fusedState = fused.state_dict().State.Cast<AdamW.State>().ToList();
        for (int i = 0; i < plainState.Count; i++)
        {
            AssertClose(Values(plainState[i].exp_avg), Values(fusedState[i].exp_avg), $"exp_avg {i}");
            AssertClose(Values(plainState[i].exp_avg_sq), Values(fusedState[i].exp_avg_sq), $"exp_avg_sq {i}");
        }
    }

    [Fact]
    public void A_parameter_without_gradient_is_skipped_as_the_per_parameter_adamw_skips_it()
    {
        using var a = TinyRun.Model(7);
        using var b = TinyRun.Model(7);
        var extraA = new Parameter(ones(3)); // in the optimizer, never in the loss: no gradient
        var extraB = new Parameter(ones(3));
        AdamW.ParamGroup[] Groups(CausalLM m, Parameter extra)
        {
            var g = PreferenceTrainer.ParamGroups(Named(m), Options);
            g[1].Parameters = [.. g[1].Parameters, extra];
            return g;
        }
        using var plain = new AdamW(Groups(a, extraA));
        using var fused = new FusedAdamW(Groups(b, extraB));
        Train(a, plain, 3);
        Train(b, fused, 3);
        Assert.Equal([1f, 1f, 1f], Values(extraB));
        Assert.Equal(0, ((AdamW.State)fused.state_dict().State[^1]).step);
        foreach (var ((name, pa), (_, pb)) in Named(a).Zip(Named(b))) AssertClose(Values(pa), Values(pb), name);
    }
}
