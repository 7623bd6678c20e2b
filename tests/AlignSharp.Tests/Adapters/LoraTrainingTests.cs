using AlignSharp.Adapters;
using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Adapters;

/// <summary>
/// LoRA DPO through the trainer: the reference is the policy with its adapter disabled, the base stays frozen and
/// out of the optimizer, checkpoints hold the adapter only and resume exactly.
/// Serial: adapter dropout draws from torch's global generator, which these tests seed.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class LoraTrainingTests
{
    private static readonly LoraOptions Lora = new() { R = 4, Alpha = 8, Dropout = 0.1, TargetModules = ["c_attn", "c_fc"] };

    private static TrainingOptions Options(int steps) => new()
    {
        MaxSteps = steps, BatchSize = 4, LearningRate = 2e-2, WarmupSteps = 0, Schedule = ScheduleKind.Constant, Seed = 7,
        LoggingSteps = 1, SaveTotalLimit = 0, SaveSteps = 2, GradientCheckpointing = true,
    };

    /// <summary>A tiny GPT-2 with a fresh adapter (A from a private generator) and the adapter-disabled reference.</summary>
    private static (TrainingSetup Setup, LoraAdapter Adapter) Setup(IReadOnlyList<TokenizedPair> pairs)
    {
        var model = TinyRun.Model();
        using var g = new Generator(17);
        var adapter = LoraAdapter.Attach(model, Lora, g);
        var setup = new TrainingSetup(model, new AdapterDisabledReference(adapter), new Dpo(0.1), pairs, [], 0)
        {
            Trainable = new AdapterWeights(adapter, "tiny-gpt2"),
        };
        return (setup, adapter);
    }

    /// <summary>AdamW's (step, first moment, second moment) per adapter tensor, read back from a checkpoint.</summary>
    private static List<(long Step, Tensor ExpAvg, Tensor ExpAvgSq)> Moments(string checkpoint, LoraAdapter into)
    {
        using var opt = PreferenceTrainer.OptimizerFor(into.NamedParameters, Options(1));
        TrainingCheckpoint.Load(checkpoint, new AdapterWeights(into, null), opt);
        return [.. opt.state_dict().State.Cast<AdamW.State>().Select(s => (s.step, s.exp_avg.clone(), s.exp_avg_sq.clone()))];
    }

    [Fact]
    public void Lora_dpo_trains_the_adapter_only_and_the_checkpoint_holds_no_base()
    {
        var pairs = TinyRun.Pairs(8);
        torch.manual_seed(5);
        var (setup, adapter) = Setup(pairs);
        using var baseModel = TinyRun.Model();
        string dir = TinyRun.TempDir();
        var log = new PreferenceTrainer(setup, Options(4), dir, new RecordingObserver()).Run();

        Assert.Equal(Math.Log(2), log[0]["loss"], 5); // B = 0: policy equals reference at step 1
        Assert.True(log[^1]["rewards/margins"] > log[0]["rewards/margins"]);
        Assert.All(setup.Policy.named_parameters(), p => Assert.True(p.parameter.grad is null, $"{p.name} got a gradient"));
        foreach (var ((name, p), (_, q)) in setup.Policy.named_parameters().Zip(baseModel.named_parameters()))
            TensorAssert.BitEqual(q, p, $"base parameter {name}");

        string last = TrainingCheckpoint.Resolve(dir, "latest");
        Assert.False(File.Exists(Path.Combine(last, "model.safetensors")), "an adapter checkpoint must not hold the base");
        Assert.True(File.Exists(Path.Combine(last, PeftAdapterFolder.WeightsFile)));
        Assert.True(File.Exists(Path.Combine(last, PeftAdapterFolder.ConfigFile)));
        using var fresh = TinyRun.Model();
        using var again = LoraAdapter.Attach(fresh, Lora);
        var moments = Moments(last, again);
        Assert.Equal(again.NamedParameters.Count, moments.Count); // optimizer state exists for adapter tensors only
        Assert.All(moments, m => Assert.Equal(4, m.Step));
        adapter.Dispose();
        setup.Policy.Dispose();
    }

    [Fact]
    public void Interrupted_and_resumed_lora_run_equals_the_uninterrupted_run()
    {
        var pairs = TinyRun.Pairs(12);
        torch.manual_seed(5);
        var (full, fullAdapter) = Setup(pairs);
        string fullDir = TinyRun.TempDir();
        new PreferenceTrainer(full, Options(4), fullDir, new RecordingObserver()).Run();

        string dir = TinyRun.TempDir();
        torch.manual_seed(5);
        var (first, firstAdapter) = Setup(pairs);
        new PreferenceTrainer(first, Options(4) with { MaxSteps = 2 }, dir, new RecordingObserver()).Run();
        torch.manual_seed(12345); // the resumed process starts from another generator state; the checkpoint restores it
        var (rest, restAdapter) = Setup(pairs);
        new PreferenceTrainer(rest, Options(4), dir, new RecordingObserver()).Run(TrainingCheckpoint.Resolve(dir, "latest"));

        foreach (var ((name, a), (_, b)) in fullAdapter.NamedParameters.Zip(restAdapter.NamedParameters))
        {
            double diff = (a - b).abs().max().item<float>();
            Assert.True(diff <= 1e-7, $"{name} differs by {diff:E2}");
        }
        using var m1 = TinyRun.Model();
        using var m2 = TinyRun.Model();
        using var a1 = LoraAdapter.Attach(m1, Lora);
        using var a2 = LoraAdapter.Attach(m2, Lora);
        var expected = Moments(Path.Combine(fullDir, "checkpoint-4"), a1);
        var actual = Moments(Path.Combine(dir, "checkpoint-4"), a2);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Step, actual[i].Step);
            Assert.True((expected[i].ExpAvg - actual[i].ExpAvg).abs().max().item<float>() <= 1e-9, $"exp_avg {i}");
            Assert.True((expected[i].ExpAvgSq - actual[i].ExpAvgSq).abs().max().item<float>() <= 1e-12, $"exp_avg_sq {i}");
        }
        foreach (var (s, a) in new[] { (full, fullAdapter), (first, firstAdapter), (rest, restAdapter) })
        {
            a.Dispose();
            s.Policy.Dispose();
        }
    }

    [Fact]
    public void Cached_reference_of_an_adapter_run_is_the_base_and_shares_the_base_cache()
    {
        var pairs = TinyRun.Pairs(8);
        string cache = TinyRun.TempDir();
        torch.manual_seed(5);
        var (setup, adapter) = Setup(pairs);
        using (no_grad())
            foreach (var p in adapter.NamedParameters) p.Parameter.normal_(0, 0.1); // the adapter now changes the model
        using var cached = new CachedReference(setup.Policy, cache, adapter.Disable);
        cached.Precompute(pairs, 4, 0);
        Assert.True(adapter.Enabled);
        using var byBase = new CachedReference(TinyRun.Model(), cache);
        Assert.Equal(byBase.CacheFile, cached.CacheFile); // same weights hash: the adapter is not part of the model
        Assert.Equal(pairs.Count * 2, byBase.LoadedRows);
        using var batch = PreferenceCollator.Collate(pairs.Take(4).ToList(), 0);
        using var fromCache = cached.LogProbs(batch, CPU)!;
        using var live = new AdapterDisabledReference(adapter).LogProbs(batch, CPU)!;
        Assert.True((fromCache - live).abs().max().item<float>() <= 1e-6);
        Assert.Equal(0, byBase.Forwards);
        adapter.Dispose();
        setup.Policy.Dispose();
    }
}
