using System.CommandLine;
using AlignSharp.Runs;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp validate --config run.yaml [--set key=value ...]</c>: checks a run in seconds, before any reference
/// pass or training (the same checks <c>train</c> runs first) and prints what it found: the objective and device, the
/// writable output folder, the tokenizer and model, the data (records, pairs) and the batch plan (batches per epoch,
/// optimizer steps). A problem is one line naming the key and where it was written, and exit 1.
/// </summary>
internal sealed class ValidateCommand : ICliCommand
{
    public Command Build()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "YAML run configuration", Required = true };
        var set = new Option<string[]>("--set") { Description = "override a config value (repeatable), as for train" };
        var cmd = new Command("validate", "Check a run config in seconds: value ranges, model and tokenizer folders, " +
            "that the data yields at least one batch (with the counts), and that output_dir is writable.")
        {
            config, set,
        };
        cmd.SetAction(r =>
        {
            var cfg = ConfigArguments.Load(r.GetValue(config), r.GetValue(set), allowDefaults: false);
            RunCheck.Validate(cfg, Console.WriteLine);
            string sets = string.Concat((r.GetValue(set) ?? []).Select(s => $" --set {s}"));
            Console.WriteLine($"ok: {r.GetValue(config)!.Name} is ready to train ('alignsharp train --config " +
                $"{r.GetValue(config)!.FullName}{sets}')");
            return 0;
        });
        return cmd;
    }
}
