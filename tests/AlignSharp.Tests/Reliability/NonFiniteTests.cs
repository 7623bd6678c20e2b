using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// A NaN or infinite loss or gradient: the run stops naming the step and the batch's records and keeps the last
/// good checkpoint, writing nothing of the bad step; or, with on_nonfinite: skip_batch, the step's update is
/// skipped and counted in the metrics.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class NonFiniteTests
{
    /// <summary>DPO whose training step <see cref="PoisonStep"/> (0-based) has a NaN loss or a NaN gradient.</summary>
    private sealed class PoisonedDpo(int poisonStep, bool gradientOnly) : IPreferenceObjective
    {
        private readonly Dpo dpo = new(0.1);

        public int PoisonStep => poisonStep;

        public string Id => "dpo";

        public bool NeedsReference => true;

        public LogProbReduction Reduction => LogProbReduction.Sum;

        public ObjectiveOutput Compute(PairStats stats, ObjectiveContext context)
        {
            var output = dpo.Compute(stats, context);
            if (!context.Training || context.Step != poisonStep) return output;
            // A NaN loss; or a finite loss (+0) whose gradient is NaN: d/dx sqrt(|x - x|) = inf · 0.
            var poison = gradientOnly
                ? (stats.PolicyChosen - stats.PolicyChosen.detach()).abs().sqrt()
                : stats.PolicyChosen * double.NaN;
            return output with { Losses = output.Losses + poison };
        }
    }

    private static TrainingOptions Options(NonFinitePolicy policy) => new()
    {
        MaxSteps = 5, BatchSize = 4, LearningRate = 1e-2, Seed = 7, SaveSteps = 1, SaveTotalLimit = 0, OnNonfinite = policy,
    };

    private static TrainingSetup Setup(IReadOnlyList<AlignSharp.Data.TokenizedPair> pairs, IPreferenceObjective objective) =>
        TinyRun.Setup(pairs) with { Objective = objective };

    [Theory]
    [InlineData(false, "non-finite loss")]
    [InlineData(true, "non-finite gradient")]
    public void A_non_finite_step_stops_the_run_naming_step_and_records_and_keeps_the_last_checkpoint(bool gradientOnly, string what)
    {
        var pairs = TinyRun.Pairs(8);
        string dir = TinyRun.TempDir();
        var trainer = new PreferenceTrainer(Setup(pairs, new PoisonedDpo(2, gradientOnly)), Options(NonFinitePolicy.Stop), dir,
            new RecordingObserver());
        var e = Assert.Throws<NonFiniteException>(() => trainer.Run());
        Assert.Contains("step 3:", e.Message);
        Assert.Contains(what, e.Message);
        Assert.Matches(@"batch of synthetic:\d+, synthetic:\d+, synthetic:\d+, synthetic:\d+\.", e.Message);
        Assert.Contains("on_nonfinite: skip_batch", e.Message);
        // Nothing of step 3 on disk: the last checkpoint is step 2's, metrics stop at step 2, no temporary folder.
        Assert.EndsWith("checkpoint-2", TrainingCheckpoint.Resolve(dir, "latest"));
        Assert.False(Directory.Exists(Path.Combine(dir, "checkpoint-3")));
        Assert.Empty(Directory.GetDirectories(dir, ".checkpoint-*"));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);
    }

    [Fact]
    public void Skip_batch_skips_the_update_counts_it_and_goes_on()
    {
        var pairs = TinyRun.Pairs(8);
        string dir = TinyRun.TempDir();
        var observer = new RecordingObserver();
        var log = new PreferenceTrainer(Setup(pairs, new PoisonedDpo(2, gradientOnly: false)), Options(NonFinitePolicy.SkipBatch),
            dir, observer).Run();
        Assert.Equal(5, log.Count);
        Assert.Equal([0.0, 0, 1, 1, 1], log.Select(m => m[NonFiniteGuard.SkippedMetric]));
        Assert.All(log, m => Assert.True(!m.ContainsKey("loss") || double.IsFinite(m["loss"]))); // step 3 logs no loss
        Assert.Contains(observer.Messages, m => m.StartsWith("step 3: skipped (non-finite loss", StringComparison.Ordinal));
        // The skipped step changed no weight: checkpoints 2 and 3 hold the same bytes; step 4 moved on again.
        byte[] Weights(int step) => File.ReadAllBytes(Path.Combine(dir, $"checkpoint-{step}", "model.safetensors"));
        Assert.Equal(Weights(2), Weights(3));
        Assert.NotEqual(Weights(3), Weights(4));
    }
}
