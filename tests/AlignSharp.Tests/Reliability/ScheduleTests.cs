using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// Learning-rate schedules against values computed by hand (HF's get_*_schedule_with_warmup: step s &lt; w gives
/// base·s/w; after it, progress p = (s − w)/(T − w); linear base·(1 − p), cosine base·½(1 + cos πp), constant base),
/// and the trainer logging exactly these values at each step.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class ScheduleTests
{
    // Base 1, warm-up 2, total 10 steps (so p = (s - 2) / 8 after warm-up).
    [Theory]
    [InlineData(ScheduleKind.Linear, 0, 0.0)]
    [InlineData(ScheduleKind.Linear, 1, 0.5)]
    [InlineData(ScheduleKind.Linear, 2, 1.0)]
    [InlineData(ScheduleKind.Linear, 3, 0.875)] // 1 - 1/8
    [InlineData(ScheduleKind.Linear, 6, 0.5)] // 1 - 4/8
    [InlineData(ScheduleKind.Linear, 9, 0.125)] // 1 - 7/8
    [InlineData(ScheduleKind.Linear, 10, 0.0)] // past the end: never negative
    [InlineData(ScheduleKind.Cosine, 1, 0.5)]
    [InlineData(ScheduleKind.Cosine, 2, 1.0)]
    [InlineData(ScheduleKind.Cosine, 4, 0.85355339059327373)] // ½(1 + cos π/4) = ½ + √2/4
    [InlineData(ScheduleKind.Cosine, 6, 0.5)] // ½(1 + cos π/2)
    [InlineData(ScheduleKind.Cosine, 8, 0.14644660940672627)] // ½(1 + cos 3π/4) = ½ − √2/4
    [InlineData(ScheduleKind.Cosine, 9, 0.038060233744356624)] // ½(1 + cos 7π/8)
    [InlineData(ScheduleKind.Constant, 0, 0.0)]
    [InlineData(ScheduleKind.Constant, 1, 0.5)]
    [InlineData(ScheduleKind.Constant, 2, 1.0)]
    [InlineData(ScheduleKind.Constant, 9, 1.0)]
    public void Schedule_matches_the_hand_computed_table(ScheduleKind kind, int step, double expected)
    {
        var schedule = new LearningRateSchedule(1.0, kind, WarmupSteps: 2, TotalSteps: 10);
        Assert.Equal(expected, schedule.At(step), 15);
    }

    [Fact]
    public void Warmup_ratio_rounds_up_and_warmup_steps_take_precedence()
    {
        // ceil(0.25 * 10) = 3 warm-up steps: 0, 1/3, 2/3, then the decay from 1.
        var byRatio = LearningRateSchedule.From(new TrainingOptions { LearningRate = 3.0, WarmupRatio = 0.25 }, 10);
        Assert.Equal(3, byRatio.WarmupSteps);
        Assert.Equal(2.0, byRatio.At(2), 15);
        Assert.Equal(3.0, byRatio.At(3), 15);
        var bySteps = LearningRateSchedule.From(new TrainingOptions { WarmupRatio = 0.25, WarmupSteps = 1 }, 10);
        Assert.Equal(1, bySteps.WarmupSteps);
    }

    [Fact]
    public void Trainer_uses_and_logs_the_scheduled_rate_at_every_step()
    {
        // Default schedule (linear), 1 warm-up step, 5 steps, base 1e-2: 0, 1e-2, 1e-2·3/4, 1e-2·2/4, 1e-2·1/4.
        var options = new TrainingOptions
        {
            MaxSteps = 5, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 1, Seed = 7, SaveTotalLimit = 0,
        };
        var log = new PreferenceTrainer(TinyRun.Setup(TinyRun.Pairs(8)), options, TinyRun.TempDir(), new RecordingObserver())
            .Run();
        double[] expected = [0, 1e-2, 1e-2 * 0.75, 1e-2 * 0.5, 1e-2 * 0.25];
        Assert.Equal(expected.Length, log.Count);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], log[i]["learning_rate"], 15);
    }
}
