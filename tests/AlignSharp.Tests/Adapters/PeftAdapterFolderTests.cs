using AlignSharp.Tests.Models;
using System.Text.Json.Nodes;
using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Adapters;

/// <summary>PEFT's adapter folder both ways, merging, and the errors for adapters that do not fit the base.</summary>
public sealed class PeftAdapterFolderTests
{
    private static string Fixture(string name) => LoraAdapterTests.Fixture(name);

    /// <summary>An adapter with random B (so it changes the model) saved to a fresh folder.</summary>
    private static string SavedAdapter(string fixture, LoraOptions options, ulong seed = 9)
    {
        using var model = HfCheckpoint.Load(Fixture(fixture)).Model;
        using var g = new Generator(seed);
        using var adapter = LoraAdapter.Attach(model, options, g);
        using (no_grad())
            foreach (var p in adapter.NamedParameters.Where(p => p.Name.EndsWith("lora_B.weight"))) p.Parameter.normal_(0, 0.05, g);
        string dir = Path.Combine(TinyRun.TempDir(), "adapter");
        PeftAdapterFolder.Save(adapter, dir, Fixture(fixture));
        return dir;
    }

    private static Dictionary<string, long[]> SavedShapes(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, PeftAdapterFolder.WeightsFile));
        return f.Tensors.ToDictionary(t => t.Key, t => t.Value.Shape);
    }

    [Fact]
    public void Llama_keys_and_shapes_follow_peft_layout()
    {
        // llama-tiny: hidden 32, 4 heads x 8 (q out 32), 2 KV heads x 8 (v out 16), 2 layers; r = 4; q_proj and v_proj.
        var expected = new Dictionary<string, long[]>
        {
            ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = [4, 32],
            ["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"] = [32, 4],
            ["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"] = [4, 32],
            ["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"] = [16, 4],
            ["base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"] = [4, 32],
            ["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"] = [32, 4],
            ["base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight"] = [4, 32],
            ["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"] = [16, 4],
        };
        string dir = SavedAdapter(FixtureModels.Llama.Name, new LoraOptions { R = 4, Alpha = 16 });
        var got = SavedShapes(dir);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (k, shape) in expected) Assert.Equal(shape, got[k]);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterFolder.ConfigFile)))!.AsObject();
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal(FixtureModels.Llama.Dir, (string?)config["base_model_name_or_path"]);
        Assert.Equal(4, (int)config["r"]!);
        Assert.Equal(16, (int)config["lora_alpha"]!);
        Assert.Equal(["q_proj", "v_proj"], config["target_modules"]!.AsArray().Select(n => (string)n!));
        Assert.False((bool)config["fan_in_fan_out"]!);
    }

    [Fact]
    public void Gpt2_keys_and_shapes_follow_peft_layout_with_conv1d_fan_in_fan_out()
    {
        // gpt2-tiny: n_embd 32, fused c_attn out 96, 2 layers; A is (r, in) and B (out, r) even though Conv1D is (in, out).
        var expected = new Dictionary<string, long[]>
        {
            ["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"] = [4, 32],
            ["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"] = [96, 4],
            ["base_model.model.transformer.h.1.attn.c_attn.lora_A.weight"] = [4, 32],
            ["base_model.model.transformer.h.1.attn.c_attn.lora_B.weight"] = [96, 4],
        };
        string dir = SavedAdapter(FixtureModels.Gpt2.Name, new LoraOptions { R = 4, Alpha = 8 });
        var got = SavedShapes(dir);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (k, shape) in expected) Assert.Equal(shape, got[k]);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterFolder.ConfigFile)))!.AsObject();
        Assert.True((bool)config["fan_in_fan_out"]!);
    }

    [Theory]
    [MemberData(nameof(LoraAdapterTests.Fixtures), MemberType = typeof(LoraAdapterTests))]
    public void A_saved_adapter_loads_onto_a_fresh_base_and_gives_the_same_logits(string fixture)
    {
        var options = new LoraOptions { R = 4, Alpha = 8, UseRsLora = true };
        using var model = HfCheckpoint.Load(Fixture(fixture)).Model;
        using var g = new Generator(9);
        using var adapter = LoraAdapter.Attach(model, options, g);
        using (no_grad())
            foreach (var p in adapter.NamedParameters.Where(p => p.Name.EndsWith("lora_B.weight"))) p.Parameter.normal_(0, 0.05, g);
        string dir = Path.Combine(TinyRun.TempDir(), "adapter");
        PeftAdapterFolder.Save(adapter, dir, null);
        model.eval();
        using var want = LoraAdapterTests.Logits(model);

        using var fresh = HfCheckpoint.Load(Fixture(fixture)).Model;
        fresh.eval();
        using var loaded = PeftAdapterFolder.Load(fresh, dir);
        Assert.True(loaded.Options.UseRsLora);
        using var got = LoraAdapterTests.Logits(fresh);
        TensorAssert.BitEqual(want, got, "logits after save and load");
    }

    [Fact]
    public void A_peft_written_folder_with_bf16_tensors_a_regex_target_and_extra_keys_loads()
    {
        // What PEFT writes: extra config keys we do not use, target_modules as a regular expression, BF16 tensors.
        string dir = SavedAdapter(FixtureModels.Llama.Name, new LoraOptions { R = 4, Alpha = 8 });
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterFolder.ConfigFile)))!.AsObject();
        config["target_modules"] = @".*\.(q_proj|v_proj)";
        config["megatron_config"] = null;
        config["loftq_config"] = new JsonObject();
        config["auto_mapping"] = null;
        File.WriteAllText(Path.Combine(dir, PeftAdapterFolder.ConfigFile), config.ToJsonString());
        string weights = Path.Combine(dir, PeftAdapterFolder.WeightsFile);
        var tensors = SafetensorsFile.ReadAll(weights);
        SafetensorsFile.Write(weights, tensors.ToDictionary(t => t.Key, t => t.Value.to(ScalarType.BFloat16)));

        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        using var adapter = PeftAdapterFolder.Load(model, dir);
        Assert.Equal(4, adapter.AdaptedModules.Count);
        var b = adapter.NamedParameters.Single(p => p.Name == "model.layers.0.self_attn.q_proj.lora_B.weight").Parameter;
        var want = tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"].to(ScalarType.BFloat16).to(ScalarType.Float32);
        TensorAssert.BitEqual(want, b, "B read from a BF16 file");
    }

    [Fact]
    public void An_adapter_for_another_family_is_an_error_naming_the_first_mismatched_key()
    {
        string dir = SavedAdapter(FixtureModels.Gpt2.Name, new LoraOptions { R = 4 });
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        var e = Assert.Throws<AdapterException>(() => PeftAdapterFolder.Load(model, dir));
        Assert.Contains("'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight'", e.Message);
        Assert.Contains("llama", e.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void A_wrong_rank_is_an_error_naming_the_first_mismatched_key()
    {
        string dir = SavedAdapter(FixtureModels.Llama.Name, new LoraOptions { R = 4 });
        string path = Path.Combine(dir, PeftAdapterFolder.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["r"] = 8;
        File.WriteAllText(path, config.ToJsonString());
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        var e = Assert.Throws<AdapterException>(() => PeftAdapterFolder.Load(model, dir));
        Assert.Contains("'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'", e.Message);
        Assert.Contains("[4, 32]", e.Message);
        Assert.Contains("[8, 32]", e.Message);
    }

    [Fact]
    public void A_missing_module_is_an_error_naming_the_missing_key()
    {
        string dir = SavedAdapter(FixtureModels.Llama.Name, new LoraOptions { R = 4 });
        string weights = Path.Combine(dir, PeftAdapterFolder.WeightsFile);
        var tensors = SafetensorsFile.ReadAll(weights);
        tensors.Remove("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
        SafetensorsFile.Write(weights, tensors);
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        var e = Assert.Throws<AdapterException>(() => PeftAdapterFolder.Load(model, dir));
        Assert.Contains("missing key 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'", e.Message);
    }

    [Fact]
    public void Unsupported_peft_settings_are_errors_naming_the_key()
    {
        string dir = SavedAdapter(FixtureModels.Llama.Name, new LoraOptions { R = 4 });
        string path = Path.Combine(dir, PeftAdapterFolder.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["use_dora"] = true;
        File.WriteAllText(path, config.ToJsonString());
        var e = Assert.Throws<AdapterException>(() => PeftAdapterFolder.ReadConfig(dir));
        Assert.Contains("use_dora", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [MemberData(nameof(LoraAdapterTests.Fixtures), MemberType = typeof(LoraAdapterTests))]
    public void Merged_folder_logits_equal_adapted_logits(string fixture)
    {
        var options = new LoraOptions { R = 4, Alpha = 8, ModulesToSave = FixtureModels.All.Single(m => m.Name == fixture).TiedHead ? [] : ["lm_head"] };
        string adapterDir = SavedAdapter(fixture, options);
        using var model = HfCheckpoint.Load(Fixture(fixture)).Model;
        model.eval();
        using var adapter = PeftAdapterFolder.Load(model, adapterDir);
        using var adapted = LoraAdapterTests.Logits(model);
        using var baseLogits = LoraAdapterTests.Logits(HfCheckpoint.Load(Fixture(fixture)).Model);
        Assert.True((adapted - baseLogits).abs().max().item<float>() > 1e-4, "the adapter should change the logits");

        string outDir = Path.Combine(TinyRun.TempDir(), "merged");
        AdapterMerge.Merge(Fixture(fixture), adapterDir, outDir);
        Assert.False(File.Exists(Path.Combine(outDir, PeftAdapterFolder.ConfigFile)));
        using var merged = HfCheckpoint.Load(outDir).Model;
        merged.eval();
        using var got = LoraAdapterTests.Logits(merged);
        double diff = (got - adapted).abs().max().item<float>();
        Assert.True(diff <= 1e-5, $"merged logits differ from adapted logits by {diff:E2}");
    }
}
