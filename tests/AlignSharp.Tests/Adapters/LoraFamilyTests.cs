using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Adapters;

/// <summary>
/// LoRA on every registered model type (the tests iterate the family registry, so a new family is covered the day
/// it is registered): default targets from the family, the B = 0 and disabled-adapter identities, PEFT's folder
/// round trip and the merged folder, on each family's tiny random model saved as a Hugging Face folder.
/// </summary>
public sealed class LoraFamilyTests
{
    private const int Vocab = 96;

    public static TheoryData<string> ModelTypes => new(ModelFamilies.ModelTypes);

    /// <summary>A tiny random model of <paramref name="modelType"/>, saved as a Hugging Face folder (the base).</summary>
    private static string SaveBase(string modelType)
    {
        var cfg = ModelFamilies.ForModelType(modelType).TinyConfig(modelType, Vocab);
        torch.manual_seed(23);
        using var model = ModelFactory.Create(cfg);
        string dir = TestTemp.Dir($"lora-{modelType}");
        HfCheckpoint.Save(model, dir);
        return dir;
    }

    private static CausalLM Load(string dir)
    {
        var model = HfCheckpoint.Load(dir).Model;
        model.eval();
        return model;
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Default_targets_come_from_the_family_and_b_zero_leaves_the_logits_bitwise_unchanged(string modelType)
    {
        using var model = Load(SaveBase(modelType));
        using var before = LoraAdapterTests.Logits(model);
        using var g = new Generator(3);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);

        var targets = model.Config.Family.DefaultAdapterTargets;
        Assert.Equal(targets, adapter.TargetModules);
        Assert.Equal(targets.Count * model.Config.NumLayers, adapter.AdaptedModules.Count);
        Assert.All(adapter.AdaptedModules, m => Assert.Contains(m[(m.LastIndexOf('.') + 1)..], targets));
        using var after = LoraAdapterTests.Logits(model);
        TensorAssert.BitEqual(before, after, $"{modelType} logits with B = 0");
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void After_training_the_disabled_adapter_is_the_base_and_the_peft_folder_reloads_bitwise(string modelType)
    {
        string baseDir = SaveBase(modelType);
        using var model = Load(baseDir);
        using var baseModel = Load(baseDir);
        using var reference = LoraAdapterTests.Logits(baseModel);
        using var g = new Generator(5);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);
        LoraAdapterTests.Train(model, adapter);

        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is null, $"{modelType}: base {p.name} got a gradient"));
        using var adapted = LoraAdapterTests.Logits(model);
        double moved = (adapted - reference).abs().max().item<float>();
        Assert.True(moved > 1e-4, $"{modelType}: training moved the adapted logits by only {moved}");
        using (adapter.Disable())
        {
            using var disabled = LoraAdapterTests.Logits(model);
            TensorAssert.BitEqual(reference, disabled, $"{modelType} logits with the adapter disabled");
        }

        string adapterDir = TestTemp.Dir($"peft-{modelType}");
        PeftAdapterFolder.Save(adapter, adapterDir, baseDir);
        using var reloaded = Load(baseDir);
        using var loadedAdapter = PeftAdapterFolder.Load(reloaded, adapterDir);
        using var again = LoraAdapterTests.Logits(reloaded);
        TensorAssert.BitEqual(adapted, again, $"{modelType} logits of the reloaded PEFT folder");
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void The_merged_folder_computes_the_adapted_logits(string modelType)
    {
        string baseDir = SaveBase(modelType);
        using var model = Load(baseDir);
        using var g = new Generator(7);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8 }, g);
        LoraAdapterTests.Train(model, adapter);
        using var adapted = LoraAdapterTests.Logits(model);
        string adapterDir = TestTemp.Dir($"peft-{modelType}");
        PeftAdapterFolder.Save(adapter, adapterDir, baseDir);

        string mergedDir = Path.Combine(TestTemp.Dir($"merged-{modelType}"), "out");
        AdapterMerge.Merge(baseDir, adapterDir, mergedDir);
        Assert.False(PeftAdapterFolder.IsAdapterFolder(mergedDir));
        using var merged = Load(mergedDir);
        using var mergedLogits = LoraAdapterTests.Logits(merged);
        double worst = (mergedLogits - adapted).abs().max().item<float>();
        // Folding s·B·A into W changes only the float32 summation order of one matmul per adapted projection.
        Assert.True(worst <= 1e-5, $"{modelType}: merged logits differ from the adapted ones by {worst}");
        using var baseModel = Load(baseDir);
        using var baseLogits = LoraAdapterTests.Logits(baseModel);
        Assert.True((mergedLogits - baseLogits).abs().max().item<float>() > 1e-4, $"{modelType}: the merge changed nothing");
    }
}
