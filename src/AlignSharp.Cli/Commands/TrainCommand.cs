using System.CommandLine;
using AlignSharp.Config;
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
            var cfg = RunConfig.Load(r.GetValue(config)!.FullName, r.GetValue(set) ?? []);
            Console.WriteLine($"objective: {string.Join(" + ", cfg.Objectives.Select(o => o.Name))}; output: {cfg.OutputDir}");
            var log = ConsoleProgress.Run("training", obs => new TrainingRun(cfg, obs).Execute(r.GetValue(resume)));
            ConsoleProgress.WriteLine(log.Count == 0 ? "nothing to do: already at the last step" : "final: " + ConsoleProgress.Format((int)log[^1]["step"], (int)log[^1]["step"], log[^1]));
            Console.WriteLine($"metrics: {Path.Combine(cfg.OutputDir, "metrics.jsonl")}");
            return 0;
        });
        return cmd;
    }
}
