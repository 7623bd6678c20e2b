using System.CommandLine;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp plot RUN_DIR</c>: (re)draws the run's <c>loss.png</c> (train/eval loss, reward margins and accuracies
/// by step) from its <c>metrics.jsonl</c>, as <c>train</c> does at the end of every run.
/// </summary>
internal sealed class PlotCommand : ICliCommand
{
    public Command Build()
    {
        var runDir = new Argument<DirectoryInfo>("RUN_DIR") { Description = "a training run's output_dir (holds metrics.jsonl)" };
        var cmd = new Command("plot", "Draw RUN_DIR/loss.png (train/eval loss, reward margins and accuracies by step) " +
            "from RUN_DIR/metrics.jsonl.") { runDir };
        cmd.SetAction(r =>
        {
            var dir = r.GetValue(runDir)!;
            if (!dir.Exists) throw new AlignSharpException($"{dir.FullName}: no such folder");
            Console.WriteLine($"wrote {LossPlot.Write(dir.FullName)}");
            return 0;
        });
        return cmd;
    }
}
