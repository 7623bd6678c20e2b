using AlignSharp.Adapters;
using AlignSharp.Config;
using AlignSharp.Tests.Training;
using AlignSharp.Runs;
using AlignSharp.Training;

namespace AlignSharp.Tests.Adapters;

/// <summary>A run config with an <c>adapter:</c> section trains LoRA and saves a PEFT folder. Serial: seeds torch.</summary>
[Collection("TorchGlobalSeed")]
public sealed class LoraRunConfigTests
{
    private static RunConfig Config(string dir, string adapter)
    {
        string data = Path.Combine(dir, "data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 16).Select(i => $$"""{"prompt":"q{{i}}:","chosen":" yes","rejected":" no{{i % 5}}"}"""));
        return RunConfig.FromTree(ConfigTree.Parse($$"""
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 64}
            tokenizer: byte
            data: {train: {{data}}, max_length: 48}
            objective: {name: dpo, beta: 0.1}
            reference: frozen
            adapter: {{adapter}}
            training: {batch_size: 4, max_steps: 3, learning_rate: 0.01, gradient_checkpointing: true}
            output_dir: {{Path.Combine(dir, "run")}}
            """, "lora.yaml"));
    }

    [Fact]
    public void A_lora_run_config_trains_the_adapter_and_saves_a_peft_folder()
    {
        string dir = TinyRun.TempDir();
        var observer = new RecordingObserver();
        var log = new TrainingRun(Config(dir, "{type: lora, r: 4, alpha: 8, target_modules: [c_attn, c_fc]}"), observer).Execute();
        Assert.Equal(Math.Log(2), log[0]["loss"], 5); // B = 0: the policy starts equal to its adapter-disabled reference
        Assert.Contains(observer.Messages, m => m.StartsWith("adapter: LoRA r 4 on 2 modules"));
        string final = Path.Combine(dir, "run", "final");
        Assert.True(File.Exists(Path.Combine(final, PeftAdapterFolder.ConfigFile)));
        Assert.True(File.Exists(Path.Combine(final, PeftAdapterFolder.WeightsFile)));
        Assert.False(File.Exists(Path.Combine(final, "model.safetensors")));
        Assert.Equal(["c_attn", "c_fc"], PeftAdapterFolder.ReadConfig(final).Options.TargetModules!);
    }

    [Fact]
    public void A_target_module_the_family_lacks_is_an_error_listing_its_modules()
    {
        string dir = TinyRun.TempDir();
        var e = Assert.Throws<AdapterException>(() =>
            new TrainingRun(Config(dir, "{type: lora, target_modules: [q_proj]}"), new RecordingObserver()).Execute());
        Assert.Contains("adapter.target_modules", e.Message);
        Assert.Contains("'q_proj'", e.Message);
        Assert.Contains("c_attn, c_fc, c_proj", e.Message);
    }
}
