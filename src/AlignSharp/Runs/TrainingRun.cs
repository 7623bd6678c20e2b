using AlignSharp.Distributed;
using AlignSharp.Config;
using AlignSharp.Training;

namespace AlignSharp.Runs;

/// <summary>Builds a run from its <see cref="RunConfig"/> through <see cref="RunBuilder"/> and trains it.</summary>
public sealed class TrainingRun(RunConfig config, ITrainingObserver observer)
{
    /// <summary>Builds, trains (or resumes: "latest" or a checkpoint folder), saves the final model; returns the metrics log.</summary>
    /// <remarks>Under mpirun, pass the job's <paramref name="collectives"/>: each rank trains its share of every batch.</remarks>
    public IReadOnlyList<Dictionary<string, double>> Execute(string? resume = null, ICollectives? collectives = null)
    {
        using var run = RunBuilder.Build(config, observer, collectives);
        return run.Train(resume);
    }
}
