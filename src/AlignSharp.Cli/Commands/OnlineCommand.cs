using System.CommandLine;
using System.Globalization;
using AlignSharp.Online;
using AlignSharp.Runs;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp online --config FILE [--set key=value ...]</c>: the online / iterative loop.</summary>
internal sealed class OnlineCommand : ICliCommand
{
    public Command Build()
    {
        var config = new Option<FileInfo>("--config", "-c")
        {
            Description = "YAML config with an 'online' section", Required = true,
        };
        var set = new Option<string[]>("--set")
        {
            Description = "override a config value, e.g. --set online.iterations=4 (repeatable)",
        };
        var cmd = new Command("online",
            "Online and iterative preference optimization: sample, score, pair, train, update the reference, repeat. " +
            "Resumes after the last complete iteration in output_dir.") { config, set };
        cmd.SetAction(r =>
        {
            var cfg = OnlineConfig.Load(r.GetValue(config)!.FullName, r.GetValue(set) ?? []);
            RunCheck.OutputWritable(cfg.Run); // before any work, not after it
            var o = cfg.Online;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"online ({o.Mode}): {o.Iterations} iterations x {o.PromptsPerIteration} prompts x " +
                $"{o.Sample.N} samples; ") +
                $"score {o.Score.Kind}, pairs {o.Pair.Strategy}, objective " +
                $"{string.Join(" + ", cfg.Run.Objectives.Select(x => x.Name))}, reference {o.Reference.Update}; " +
                $"output: {cfg.Run.OutputDir}");
            var reports = ConsoleProgress.Run("online",
                obs => new OnlineLoop(cfg, obs).RunAsync().GetAwaiter().GetResult());
            Console.WriteLine("iteration  pairs  invalid  steps  tok/s  task reward");
            foreach (var x in reports)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{x.Iteration,9}  {x.Pairs,5}  {x.InvalidGroups,7}  {x.OptimizerSteps,5}  " +
                    $"{x.TokensPerSecond,5:0}  {x.PolicyTaskReward,11:0.000}"));
            Console.WriteLine($"pairs and checkpoints: {cfg.Run.OutputDir}/iteration-NNNN/; " +
                $"final policy: {cfg.Run.OutputDir}/final");
            return 0;
        });
        return cmd;
    }
}
