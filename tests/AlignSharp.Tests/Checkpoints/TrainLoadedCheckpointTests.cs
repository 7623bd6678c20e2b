using AlignSharp.Checkpoints;
using AlignSharp.Objectives;
using AlignSharp.Tests.Models;
using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Checkpoints;

/// <summary>The "done when": DPO training runs on a loaded fixture of each RoPE family and saves a folder that reloads.</summary>
public sealed class TrainLoadedCheckpointTests
{
    /// <summary>One single-file F32 fixture of each RoPE family (every model type without learned positions).</summary>
    public static TheoryData<string> RopeFolders => FixtureModels.Names(FixtureModels.OnePerType(m => !m.LearnedPositions));

    [Theory]
    [MemberData(nameof(RopeFolders))]
    public void Dpo_trains_a_loaded_checkpoint_and_the_saved_folder_reloads_bit_exactly(string folder)
    {
        string src = GoldenModel.DirOf(folder);
        using var policy = HfCheckpoint.Load(src).Model;
        using var reference = new FrozenReference(HfCheckpoint.Load(src).Model);
        var setup = new TrainingSetup(policy, reference, new Dpo(0.1), TinyRun.Pairs(8), [], 0);
        var options = new TrainingOptions { BatchSize = 4, MaxSteps = 3, LearningRate = 1e-2, WarmupSteps = 0 };
        string dir = TinyRun.TempDir();
        var log = new PreferenceTrainer(setup, options, Path.Combine(dir, "run"), new RecordingObserver()).Run();
        Assert.NotEmpty(log);
        Assert.All(log, m => Assert.True(double.IsFinite(m["loss"])));

        string saved = Path.Combine(dir, "aligned");
        HfCheckpoint.Save(policy, saved);
        using var back = HfCheckpoint.Load(saved).Model;
        using var original = HfCheckpoint.Load(src).Model;
        var trained = policy.state_dict();
        var reloaded = back.state_dict();
        Assert.Equal(trained.Keys.Order(), reloaded.Keys.Order());
        foreach (var k in trained.Keys) TensorAssert.BitEqual(trained[k], reloaded[k], k);
        Assert.Contains(original.state_dict(), kv => !kv.Value.eq(reloaded[kv.Key]).all().item<bool>()); // training moved weights
        Directory.Delete(dir, recursive: true);
    }
}
