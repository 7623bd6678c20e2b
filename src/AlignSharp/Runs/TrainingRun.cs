using AlignSharp.Distributed;
using AlignSharp.Config;
using AlignSharp.Training;

namespace AlignSharp.Runs;

/// <summary>
/// Claims the run's output folder (<see cref="RunFolder"/>: one run per folder), builds the run from its
/// <see cref="RunConfig"/> through <see cref="RunBuilder"/> and trains it.
/// </summary>
public sealed class TrainingRun(RunConfig config, ITrainingObserver observer)
{
    /// <summary>Replace the run already in the output folder (its checkpoints, final model and metrics).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Resume although the config differs from the one the run started with.</summary>
    public bool AllowConfigChange { get; init; }

    /// <summary>
    /// Claims the output folder (before anything is built: a folder held by a live run, a folder holding a run without
    /// <see cref="Overwrite"/> or a resume, and a resume with a changed config are refused), builds, trains (or
    /// resumes: "latest" or a checkpoint folder), saves the final model, releases the folder; returns the metrics log.
    /// </summary>
    /// <remarks>Under mpirun, pass the job's <paramref name="collectives"/>: each rank trains its share of every batch;
    /// rank 0 claims the folder.</remarks>
    /// <exception cref="RunFolderException">The folder is held, holds a run, or the config changed on resume.</exception>
    public IReadOnlyList<Dictionary<string, double>> Execute(string? resume = null, ICollectives? collectives = null)
    {
        var comm = collectives ?? SingleProcess.Instance;
        var mode = RunFolder.ModeFor(resume, Overwrite);
        using var folder = comm.Rank == 0 ? RunFolder.Claim(config, mode, AllowConfigChange, observer.OnMessage) : null;
        comm.Barrier(); // the folder is claimed (and cleared by Overwrite) before any rank reads it
        using var run = RunBuilder.Build(config, observer, collectives);
        return run.TrainIn(folder, resume, comm);
    }
}
