using AlignSharp.Data.Batching;
using AlignSharp.Training;
using AlignSharp.Tests.Training;

namespace AlignSharp.Tests.Data;

/// <summary>The trainer with length-bucketed batches. Seeds TorchSharp's global generator: runs alone.</summary>
[Collection("Console output")]
public sealed class GroupedTrainingTests
{
    private static TrainingOptions Options(int steps) => new()
    {
        MaxSteps = steps, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 0, Schedule = ScheduleKind.Constant,
        Seed = 7, LoggingSteps = 1, SaveTotalLimit = 0, SaveSteps = 2, BatchOrder = BatchOrder.Bucketed,
    };

    private static List<double> Losses(IReadOnlyList<Dictionary<string, double>> log) => log.Select(m => m["loss"]).ToList();

    [Fact]
    public void Length_grouped_run_resumed_mid_epoch_equals_the_uninterrupted_run()
    {
        var pairs = TinyRun.Pairs(12); // 3 batches per epoch: 6 steps cross an epoch boundary
        var full = Losses(new PreferenceTrainer(TinyRun.Setup(pairs), Options(6), TinyRun.TempDir(), new RecordingObserver()).Run());
        var ungrouped = Losses(new PreferenceTrainer(TinyRun.Setup(pairs), Options(6) with { BatchOrder = BatchOrder.Random }, TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.NotEqual(ungrouped, full); // the flag changes which pairs share a batch

        string dir = TinyRun.TempDir();
        new PreferenceTrainer(TinyRun.Setup(pairs), Options(2), dir, new RecordingObserver()).Run(); // stops mid-epoch 0
        var rest = Losses(new PreferenceTrainer(TinyRun.Setup(pairs), Options(6), dir, new RecordingObserver()).Run(TrainingCheckpoint.Resolve(dir, "latest")));
        Assert.Equal(4, rest.Count);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(full[i + 2] - rest[i]) < 1e-6, $"step {i + 3}: {full[i + 2]} vs {rest[i]}");
    }
}
