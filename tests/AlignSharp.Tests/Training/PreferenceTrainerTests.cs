using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Training;

/// <summary>Serial: these tests compare runs bit for bit, so nothing may change torch's threads or global generator meanwhile.</summary>
[Collection("TorchGlobalSeed")]
public sealed class PreferenceTrainerTests
{
    private static TrainingOptions Options(int steps, int batch, int accum = 1, double lr = 1e-2) => new()
    {
        MaxSteps = steps, BatchSize = batch, GradientAccumulationSteps = accum, LearningRate = lr,
        WarmupSteps = 0, Schedule = ScheduleKind.Constant, Seed = 7, LoggingSteps = 1, SaveTotalLimit = 0,
    };

    private static List<double> Losses(IReadOnlyList<Dictionary<string, double>> log) =>
        log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();

    [Fact]
    public void Overfitting_eight_pairs_drives_reward_accuracy_to_one()
    {
        var pairs = TinyRun.Pairs(8);
        var setup = TinyRun.Setup(pairs, eval: pairs);
        var log = new PreferenceTrainer(setup, Options(60, 8, lr: 3e-2), TinyRun.TempDir(), new RecordingObserver()).Run();
        var last = log.Last(m => m.ContainsKey("eval_rewards/accuracies"));
        Assert.Equal(1.0, last["eval_rewards/accuracies"]);
        Assert.True(last["eval_loss"] < 0.3, $"eval loss {last["eval_loss"]}");
        Assert.True(Losses(log)[^1] < Losses(log)[0]);
    }

    [Fact]
    public void First_step_loss_is_ln2_because_policy_equals_reference()
    {
        var log = new PreferenceTrainer(TinyRun.Setup(TinyRun.Pairs(8)), Options(1, 8), TinyRun.TempDir(), new RecordingObserver()).Run();
        Assert.Equal(Math.Log(2), log[0]["loss"], 6);
        Assert.Equal(0.0, log[0]["rewards/margins"], 6);
    }

    [Fact]
    public void Batch_of_eight_equals_two_by_four_accumulation()
    {
        // Adam's epsilon is raised from 1e-8 to 1e-6: the attention key bias has an exactly-zero gradient in exact
        // arithmetic (softmax ignores a shift shared by all keys), so its float noise (~1e-9) would otherwise be
        // normalised by Adam into full-size, order-dependent steps that say nothing about accumulation.
        var pairs = TinyRun.Pairs(8);
        var a = TinyRun.Setup(pairs);
        var logA = new PreferenceTrainer(a, Options(3, 8, 1) with { AdamEpsilon = 1e-6 }, TinyRun.TempDir(), new RecordingObserver()).Run();
        var b = TinyRun.Setup(pairs);
        var logB = new PreferenceTrainer(b, Options(3, 2, 4) with { AdamEpsilon = 1e-6 }, TinyRun.TempDir(), new RecordingObserver()).Run();
        var (la, lb) = (Losses(logA), Losses(logB));
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(la[i] - lb[i]) < 1e-5, $"step {i + 1}: loss {la[i]} vs {lb[i]}");
        foreach (var ((name, pa), (_, pb)) in a.Policy.named_parameters().Zip(b.Policy.named_parameters()))
        {
            double diff = (pa - pb).abs().max().item<float>();
            Assert.True(diff < 1e-5, $"{name} differs by {diff}");
        }
    }

    [Fact]
    public void Resumed_run_equals_uninterrupted_run()
    {
        var pairs = TinyRun.Pairs(12);
        var opts = Options(6, 4) with { SaveSteps = 2 };

        var full = new PreferenceTrainer(TinyRun.Setup(pairs), opts, TinyRun.TempDir(), new RecordingObserver()).Run();

        string dir = TinyRun.TempDir();
        // Interrupt after step 2 by running a copy whose last step is 2, then resume the 6-step run from its checkpoint.
        new PreferenceTrainer(TinyRun.Setup(pairs), opts with { MaxSteps = 2 }, dir, new RecordingObserver()).Run();
        var rest = new PreferenceTrainer(TinyRun.Setup(pairs), opts, dir, new RecordingObserver())
            .Run(TrainingCheckpoint.Resolve(dir, "latest"));

        var expected = Losses(full).Skip(2).ToList();
        var actual = Losses(rest);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-6, $"step {i + 3}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Checkpoint_round_trip_is_bit_exact()
    {
        var setup = TinyRun.Setup(TinyRun.Pairs(8));
        string dir = TinyRun.TempDir();
        new PreferenceTrainer(setup, Options(2, 4), dir, new RecordingObserver()).Run();
        var restored = TinyRun.Model(seed: 99);
        using var opt = PreferenceTrainer.CreateOptimizer(restored, Options(2, 4));
        var state = TrainingCheckpoint.Load(TrainingCheckpoint.Resolve(dir, "latest"), restored, opt);
        Assert.Equal(2, state.Step);
        foreach (var ((name, pa), (_, pb)) in setup.Policy.named_parameters().Zip(restored.named_parameters()))
            Assert.True(pa.eq(pb).all().item<bool>(), $"{name} not bit-exact after reload");
    }

    [Fact]
    public void Interrupted_save_leaves_previous_checkpoint_intact()
    {
        string dir = TinyRun.TempDir();
        var setup = TinyRun.Setup(TinyRun.Pairs(8));
        new PreferenceTrainer(setup, Options(2, 4), dir, new RecordingObserver()).Run();
        // A crash mid-save leaves only a hidden temporary folder; "latest" still resolves to the complete checkpoint.
        Directory.CreateDirectory(Path.Combine(dir, ".checkpoint-4.tmp-1"));
        File.WriteAllText(Path.Combine(dir, ".checkpoint-4.tmp-1", "trainer_state.json"), "{ half");
        Assert.EndsWith("checkpoint-2", TrainingCheckpoint.Resolve(dir, "latest"));
    }

    [Fact]
    public void Cached_reference_runs_no_forward_after_the_first_pass()
    {
        var pairs = TinyRun.Pairs(8);
        string cache = TinyRun.TempDir();
        using (var first = new CachedReference(TinyRun.Model(), cache))
        {
            var setup = new TrainingSetup(TinyRun.Model(), first, new AlignSharp.Objectives.Dpo(0.1), pairs, [], 0);
            new PreferenceTrainer(setup, Options(4, 4), TinyRun.TempDir(), new RecordingObserver()).Run(); // 2 epochs
            Assert.Equal(2, first.Forwards); // first epoch only
            Assert.Equal(2, first.Hits);
        }
        using var second = new CachedReference(TinyRun.Model(), cache);
        var again = new TrainingSetup(TinyRun.Model(), second, new AlignSharp.Objectives.Dpo(0.1), pairs, [], 0);
        new PreferenceTrainer(again, Options(2, 4), TinyRun.TempDir(), new RecordingObserver()).Run();
        Assert.Equal(8 * 2, second.LoadedRows);
        Assert.Equal(0, second.Forwards);
    }
}
