namespace AlignSharp.Training;

/// <summary>Warm-up then linear, cosine or constant: a pure function of the step, so resuming needs only the step.</summary>
public sealed record LearningRateSchedule(double BaseRate, ScheduleKind Kind, int WarmupSteps, int TotalSteps)
{
    /// <summary>Builds the schedule of a run from its options.</summary>
    public static LearningRateSchedule From(TrainingOptions o, int totalSteps) =>
        new(o.LearningRate, o.Schedule, o.WarmupSteps > 0 ? o.WarmupSteps : (int)Math.Ceiling(o.WarmupRatio * totalSteps), totalSteps);

    /// <summary>Learning rate used by optimizer step <paramref name="step"/> (0-based), as HF's schedulers give it.</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return BaseRate * step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Kind switch
        {
            ScheduleKind.Linear => BaseRate * Math.Max(0, 1 - progress),
            ScheduleKind.Cosine => BaseRate * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => BaseRate,
        };
    }
}
