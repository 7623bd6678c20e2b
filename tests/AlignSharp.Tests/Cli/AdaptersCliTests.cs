using AlignSharp.Tests.Models;
using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Cli;
using AlignSharp.Tests.Adapters;
using AlignSharp.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Cli;

[Collection("Console")]
public sealed class AdaptersCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void Adapters_merge_writes_a_plain_folder_and_a_mismatched_adapter_is_one_line_error()
    {
        string llama = FixtureModels.Llama.Dir, gpt2 = FixtureModels.Gpt2.Dir;
        string root = TinyRun.TempDir(), adapterDir = Path.Combine(root, "adapter"), outDir = Path.Combine(root, "merged");
        using (var model = HfCheckpoint.Load(llama).Model)
        {
            using var g = new Generator(1);
            using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 2 }, g);
            using (no_grad())
                foreach (var p in adapter.NamedParameters) p.Parameter.normal_(0, 0.1, g);
            PeftAdapterFolder.Save(adapter, adapterDir, llama);
        }
        var (code, stdout, _) = Run("adapters", "merge", "--base", llama, "--adapter", adapterDir, "--out", outDir);
        Assert.Equal(0, code);
        Assert.Contains(outDir, stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "config.json")));
        Assert.True(File.Exists(Path.Combine(outDir, HfCheckpoint.WeightsFile)));

        var (bad, _, err) = Run("adapters", "merge", "--base", gpt2, "--adapter", adapterDir, "--out", outDir + "-2");
        Assert.Equal(1, bad);
        Assert.StartsWith("error: ", err);
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", err);
        Assert.Single(err.Trim().Split('\n'));

        // generate on the adapter folder (a LoRA run's final/) names the merge that makes a model of it.
        var (gen, _, genErr) = Run("generate", "--model", adapterDir, "--prompt", "x");
        Assert.Equal(1, gen);
        Assert.Equal($"error: {adapterDir}: a LoRA adapter (adapter_config.json), not a model; fold it into its base " +
            $"first: alignsharp adapters merge --base {llama} --adapter {adapterDir} --out MERGED_DIR", genErr.Trim());
    }
}
