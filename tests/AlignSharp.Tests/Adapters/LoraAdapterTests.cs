using AlignSharp.Tests.Models;
using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Adapters;

/// <summary>LoRA on the golden Llama and GPT-2 fixtures: identities with the base, freezing, scaling and initialisation.</summary>
public sealed class LoraAdapterTests
{
    /// <summary>A plain Llama and a GPT-2 fixture (picked by property from the manifests).</summary>
    public static TheoryData<string> Fixtures => FixtureModels.Names([FixtureModels.Llama, FixtureModels.Gpt2]);

    internal static string Fixture(string name) => FixtureModels.All.Single(m => m.Name == name).Dir;

    /// <summary>Fixed token rows (B = 2, T = 7) with one padded position, for logits comparisons.</summary>
    internal static Tensor Logits(CausalLM model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(new long[,] { { 5, 17, 3, 42, 8, 61, 2 }, { 9, 1, 77, 30, 12, 4, 0 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 0 } });
        return model.Logits(ids, mask, CausalLM.PositionsFromMask(mask)).MoveToOuterDisposeScope(); // (B, T, V)
    }

    /// <summary>A few AdamW steps on the adapter only, pushing the logits of one token up.</summary>
    internal static void Train(CausalLM model, LoraAdapter adapter, int steps = 3)
    {
        model.train();
        using var opt = optim.AdamW(adapter.NamedParameters.Select(p => p.Parameter), lr: 0.05);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var ids = tensor(new long[,] { { 5, 17, 3, 42 } });
            var mask = torch.ones_like(ids);
            var loss = -model.Logits(ids, mask, CausalLM.PositionsFromMask(mask))[.., .., 7].mean();
            loss.backward();
            opt.step();
        }
        model.eval();
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void With_b_zero_the_adapted_logits_equal_the_base_bitwise(string fixture)
    {
        using var model = HfCheckpoint.Load(Fixture(fixture)).Model;
        model.eval();
        using var before = Logits(model);
        using var g = new Generator(3);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);
        Assert.NotEmpty(adapter.AdaptedModules);
        using var after = Logits(model);
        TensorAssert.BitEqual(before, after, $"{fixture} logits with B = 0");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Disabled_adapter_equals_the_base_bitwise_after_training_and_the_base_gets_no_gradient(string fixture)
    {
        using var model = HfCheckpoint.Load(Fixture(fixture)).Model;
        using var baseModel = HfCheckpoint.Load(Fixture(fixture)).Model;
        model.eval();
        baseModel.eval();
        using var reference = Logits(baseModel);
        using var g = new Generator(5);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);
        Train(model, adapter);

        Assert.All(model.named_parameters(), p =>
        {
            Assert.False(p.parameter.requires_grad, $"{p.name} is trainable");
            Assert.True(p.parameter.grad is null, $"{p.name} received a gradient");
        });
        Assert.All(adapter.NamedParameters, p => Assert.True(p.Parameter.grad is not null, $"{p.Name} got no gradient"));
        using var adapted = Logits(model);
        double moved = (adapted - reference).abs().max().item<float>();
        Assert.True(moved > 1e-4, $"training moved the adapted logits by only {moved}");
        using (adapter.Disable())
        {
            using var disabled = Logits(model);
            TensorAssert.BitEqual(reference, disabled, $"{fixture} logits with the adapter disabled");
        }
        Assert.True(adapter.Enabled);
        foreach (var ((name, p), (_, q)) in model.named_parameters().Zip(baseModel.named_parameters()))
            TensorAssert.BitEqual(q, p, $"base parameter {name}");
    }

    [Fact]
    public void A_is_kaiming_uniform_b_is_zero_and_scaling_follows_rslora()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        using var g = new Generator(11);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);
        var a = adapter.NamedParameters.First(p => p.Name.EndsWith(".lora_A.weight")).Parameter; // (r, in = 32)
        var b = adapter.NamedParameters.First(p => p.Name.EndsWith(".lora_B.weight")).Parameter;
        double bound = 1 / Math.Sqrt(32); // sqrt(6 / ((1 + 5) * fan_in))
        Assert.True(a.abs().max().item<float>() <= bound);
        Assert.True(a.abs().max().item<float>() > 0.5 * bound);
        Assert.Equal(0, b.abs().max().item<float>());
        Assert.Equal(ScalarType.Float32, a.dtype);
        Assert.Equal(2.0, new LoraOptions { R = 4, Alpha = 8 }.Scaling);
        Assert.Equal(4.0, new LoraOptions { R = 4, Alpha = 8, UseRsLora = true }.Scaling); // 8 / sqrt(4)
    }

    [Fact]
    public void The_adapter_adds_scaling_times_b_a_x_to_a_projection()
    {
        // One GPT-2 layer's c_attn: y = x W + b + s (x A^T) B^T, with W stored (in, out).
        using var model = HfCheckpoint.Load(FixtureModels.Gpt2.Dir).Model;
        using var g = new Generator(2);
        var options = new LoraOptions { R = 2, Alpha = 3, UseRsLora = true };
        using var adapter = LoraAdapter.Attach(model, options, g);
        var conv = model.named_modules().Single(m => m.name == "transformer.h.0.attn.c_attn").module as Conv1D;
        Assert.NotNull(conv);
        var bParam = adapter.NamedParameters.Single(p => p.Name == "transformer.h.0.attn.c_attn.lora_B.weight").Parameter;
        var aParam = adapter.NamedParameters.Single(p => p.Name == "transformer.h.0.attn.c_attn.lora_A.weight").Parameter;
        using (no_grad()) bParam.normal_(0, 0.1, g);
        using var x = torch.randn(3, 32, generator: g);
        using var got = conv!.call(x);
        using var plain = conv.forward(x);
        using var want = plain + x.matmul(aParam.t()).matmul(bParam.t()) * (3 / Math.Sqrt(2));
        Assert.True((got - want).abs().max().item<float>() < 1e-6);
    }

    [Fact]
    public void Dropout_applies_in_training_mode_only()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        using var g = new Generator(4);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8, Dropout = 0.5 }, g);
        using (no_grad())
            foreach (var p in adapter.NamedParameters.Where(p => p.Name.EndsWith("lora_B.weight"))) p.Parameter.normal_(0, 0.1, g);
        model.eval();
        using var e1 = Logits(model);
        using var e2 = Logits(model);
        TensorAssert.BitEqual(e1, e2, "eval logits");
        model.train();
        using var t1 = Logits(model);
        Assert.True((t1 - e1).abs().max().item<float>() > 1e-5, "dropout changed nothing in training mode");
    }

    [Fact]
    public void Modules_to_save_train_a_copy_and_the_disabled_model_keeps_the_original()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        model.eval();
        using var before = Logits(model);
        using var g = new Generator(6);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 2, ModulesToSave = ["lm_head"] }, g);
        Assert.Contains(adapter.NamedParameters, p => p.Name == "lm_head.weight");
        Train(model, adapter);
        using var adapted = Logits(model);
        Assert.True((adapted - before).abs().max().item<float>() > 1e-4);
        using (adapter.Disable())
        {
            using var disabled = Logits(model);
            TensorAssert.BitEqual(before, disabled, "logits with the adapter (and its lm_head copy) disabled");
        }
    }

    [Fact]
    public void A_target_the_family_lacks_is_an_error_listing_its_module_names()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        var e = Assert.Throws<AdapterException>(() => LoraAdapter.Attach(model, new LoraOptions { TargetModules = ["c_attn"] }));
        Assert.Contains("'c_attn'", e.Message);
        Assert.Contains("llama", e.Message);
        foreach (var name in new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head" })
            Assert.Contains(name, e.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad, "a failed attach froze the base"));
        var norm = Assert.Throws<AdapterException>(() =>
            LoraAdapter.Attach(model, new LoraOptions { TargetModules = ["input_layernorm"] }));
        Assert.Contains("input_layernorm", norm.Message);
    }

    [Fact]
    public void Default_targets_are_the_query_and_value_projections_or_gpt2_c_attn()
    {
        using var llama = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        using var gpt2 = HfCheckpoint.Load(FixtureModels.Gpt2.Dir).Model;
        using var a = LoraAdapter.Attach(llama, new LoraOptions());
        using var b = LoraAdapter.Attach(gpt2, new LoraOptions());
        int layers = llama.Config.NumLayers;
        Assert.Equal(2 * layers, a.AdaptedModules.Count);
        Assert.All(a.AdaptedModules, m => Assert.True(m.EndsWith(".q_proj") || m.EndsWith(".v_proj"), m));
        Assert.Equal(gpt2.Config.NumLayers, b.AdaptedModules.Count);
        Assert.All(b.AdaptedModules, m => Assert.EndsWith(".attn.c_attn", m));
    }
}
