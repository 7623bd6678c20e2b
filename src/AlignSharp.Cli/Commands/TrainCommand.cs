using System.CommandLine;
using AlignSharp.Config;
using AlignSharp.Distributed;
using AlignSharp.Training;
using AlignSharp.Runs;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp train --config run.yaml [--set key=value ...] [--resume latest|DIR]</c>.</summary>
internal sealed class TrainCommand : ICliCommand
{
    public Command Build()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "YAML run configuration", Required = true };
        var set = new Option<string[]>("--set") { Description = "override a config value, e.g. --set training.learning_rate=1e-5 (repeatable)" };
        var resume = new Option<string?>("--resume") { Description = "continue from 'latest' or a checkpoint folder" };
        var cmd = new Command("train", "Train a policy on preference pairs (DPO and its family).") { config, set, resume };
        cmd.SetAction(r =>
        {
            // Under mpirun every rank runs this command; one process otherwise (MPI is then never loaded).
            using var comm = Collectives.FromEnvironment();
            try
            {
                var cfg = RunConfig.Load(r.GetValue(config)!.FullName, r.GetValue(set) ?? []);
                if (comm.Rank != 0)
                {
                    new TrainingRun(cfg, new QuietObserver()).Execute(r.GetValue(resume), comm);
                    return 0;
                }
                Console.WriteLine($"objective: {string.Join(" + ", cfg.Objectives.Select(o => o.Name))}; output: {cfg.OutputDir}");
                var log = ConsoleProgress.Run("training", obs => new TrainingRun(cfg, obs).Execute(r.GetValue(resume), comm));
                ConsoleProgress.WriteLine(log.Count == 0 ? "nothing to do: already at the last step" : "final: " + ConsoleProgress.Format((int)log[^1]["step"], (int)log[^1]["step"], log[^1]));
                Console.WriteLine($"metrics: {Path.Combine(cfg.OutputDir, "metrics.jsonl")}");
                return 0;
            }
            catch (Exception e) when (comm.Size > 1)
            {
                // One failing rank ends the whole job with its error, instead of leaving the others waiting forever.
                Console.Error.WriteLine(CliErrors.IsUserError(e)
                    ? $"error (rank {comm.Rank} of {comm.Size}): {e.Message}"
                    : $"error (rank {comm.Rank} of {comm.Size}): {e}");
                comm.Abort(1);
                return 1;
            }
        });
        return cmd;
    }
}

/// <summary>The observer of ranks other than 0: they train silently.</summary>
internal sealed class QuietObserver : ITrainingObserver
{
    public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) { }

    public void OnMessage(string message) { }
}
