using System.CommandLine;
using AlignSharp.Config;
using AlignSharp.Distributed;
using AlignSharp.Runs;
using AlignSharp.Training;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp train --config run.yaml [--set key=value ...] [--resume latest|DIR] [--overwrite]
/// [--allow-config-change]</c>; exit 130 when stopped by SIGINT/SIGTERM (a checkpoint is written first).
/// <c>--print-config</c> prints the resolved config as YAML instead. Before any work the run is checked as
/// <c>alignsharp validate</c> checks it.
/// </summary>
internal sealed class TrainCommand : ICliCommand
{
    public Command Build()
    {
        var config = new Option<FileInfo?>("--config", "-c")
        {
            Description = "YAML run configuration (every key: docs/config.md)",
        };
        var printConfig = new Option<bool>("--print-config")
        {
            Description = "print the resolved config (--config and --set applied, every default filled in) as YAML and exit",
        };
        var set = new Option<string[]>("--set") { Description = "override a config value, e.g. --set training.learning_rate=1e-5 (repeatable)" };
        var resume = new Option<string?>("--resume") { Description = "continue from 'latest' or a checkpoint folder" };
        var overwrite = new Option<bool>("--overwrite")
        {
            Description = "replace the run already in output_dir (its checkpoints, final model and metrics)",
        };
        var allowChange = new Option<bool>("--allow-config-change")
        {
            Description = "resume although the config differs from the one the run started with",
        };
        var cmd = new Command("train", "Train a policy on preference pairs (DPO and its family). The run is checked " +
            "first (config ranges, model and tokenizer, data batches, output folder), as 'alignsharp validate --config " +
            "FILE' does on its own; --print-config shows the resolved config.")
        {
            config, set, resume, overwrite, allowChange, printConfig,
        };
        cmd.SetAction(r =>
        {
            // Under mpirun every rank runs this command; one process otherwise (MPI is then never loaded).
            using var comm = Collectives.FromEnvironment();
            try
            {
                var cfg = ConfigArguments.Load(r.GetValue(config), r.GetValue(set), allowDefaults: r.GetValue(printConfig));
                if (r.GetValue(printConfig))
                {
                    Console.Write(ConfigYaml.Write(cfg, ConfigArguments.Header(r.GetValue(config), r.GetValue(set))));
                    return 0;
                }
                // Everything a run needs, checked in seconds before the folder is claimed or a model is built.
                RunCheck.Validate(cfg, _ => { });
                string? from = r.GetValue(resume);
                RunFolder.ModeFor(from, r.GetValue(overwrite)); // --resume with --overwrite: an error before anything runs
                // SIGINT/SIGTERM stop at the next step boundary with a checkpoint; TrainingRun claims the folder (one run
                // per folder: lock file held by rank 0) before it builds anything.
                using var signals = GracefulStop.Install(Console.Error.WriteLine);
                if (comm.Rank == 0)
                    Console.WriteLine($"objective: {string.Join(" + ", cfg.Objectives.Select(o => o.Name))}; output: {cfg.OutputDir}");
                IReadOnlyList<Dictionary<string, double>> log;
                TrainingRun Run(ITrainingObserver obs) => new(cfg, obs)
                {
                    Overwrite = r.GetValue(overwrite), AllowConfigChange = r.GetValue(allowChange),
                };
                try
                {
                    log = comm.Rank == 0
                        ? ConsoleProgress.Run("training", obs => Run(obs).Execute(from, comm))
                        : Run(new QuietObserver()).Execute(from, comm);
                }
                catch (TrainingStoppedException e)
                {
                    if (comm.Rank == 0)
                    {
                        Console.Error.WriteLine(e.Message);
                        Console.WriteLine(LossPlot.TryWrite(cfg.OutputDir));
                    }
                    return TrainingStoppedException.ExitCode;
                }
                if (comm.Rank != 0) return 0;
                ConsoleProgress.WriteLine(log.Count == 0 ? "nothing to do: already at the last step" : "final: " + ConsoleProgress.Format((int)log[^1]["step"], (int)log[^1]["step"], log[^1]));
                Console.WriteLine($"metrics: {Path.Combine(cfg.OutputDir, "metrics.jsonl")}");
                Console.WriteLine(LossPlot.TryWrite(cfg.OutputDir));
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
