using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AlignSharp.Runs;
using AlignSharp.Workflows;
using Spectre.Console;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp quickstart</c>: the whole job on generated data, with a before/after table.</summary>
internal sealed class QuickstartCommand : ICliCommand
{
    public Command Build()
    {
        var output = new Option<string>("--output", "-o") { Description = "folder for the models, pairs and metrics", DefaultValueFactory = _ => "runs/quickstart" };
        var seed = new Option<long>("--seed") { Description = "seed of every random choice", DefaultValueFactory = _ => 1234 };
        var lr = new Option<double>("--learning-rate") { Description = "DPO learning rate", DefaultValueFactory = _ => new QuickstartOptions().DpoLearningRate };
        var beta = new Option<double>("--beta") { Description = "DPO beta", DefaultValueFactory = _ => new QuickstartOptions().Beta };
        var epochs = new Option<int>("--epochs") { Description = "DPO epochs over the generated pairs", DefaultValueFactory = _ => new QuickstartOptions().DpoEpochs };
        var overwrite = new Option<bool>("--overwrite")
        {
            Description = "replace the DPO run of an earlier quickstart in the output folder (the base model is reused)",
        };
        var cmd = new Command("quickstart", "Pretrain a tiny model on generated reviews, train DPO on preference pairs labelled by a ground-truth scorer, and compare before/after.")
        { output, seed, lr, beta, epochs, overwrite };
        cmd.SetAction(r =>
        {
            var clock = Stopwatch.StartNew();
            string dir = r.GetValue(output)!;
            RunCheck.Writable(dir, $"--output {dir}", "output folder"); // before any work, not after it
            var options = new QuickstartOptions { Seed = r.GetValue(seed), DpoLearningRate = r.GetValue(lr), Beta = r.GetValue(beta), DpoEpochs = r.GetValue(epochs) };
            var result = ConsoleProgress.Run("quickstart", obs => new Quickstart(options, dir, obs) { Overwrite = r.GetValue(overwrite) }.Run());
            Print(result, clock.Elapsed);
            return 0;
        });
        return cmd;
    }

    private static void Print(QuickstartResult r, TimeSpan elapsed)
    {
        static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Markdown)
            .AddColumn("model").AddColumn("ground-truth reward of samples").AddColumn("KL to reference (nats)")
            .AddColumn("implicit-reward accuracy").AddColumn("mean length (bytes)");
        foreach (var row in new[] { r.Before, r.After })
            table.AddRow(row.Model, $"{F(row.Reward.Mean)} ± {F(row.Reward.StandardError)}", $"{F(row.Kl.Mean)} ± {F(row.Kl.StandardError)}",
                F(row.ImplicitAccuracy), row.MeanLength.ToString("0.0", CultureInfo.InvariantCulture));
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        Console.WriteLine();
        AnsiConsole.Write(table);
        Console.WriteLine();
        Console.WriteLine($"{r.TrainPairs} training pairs, {r.EvalPairs} held-out pairs; ground-truth reward change {F(r.After.Reward.Mean - r.Before.Reward.Mean)}.");
        Console.WriteLine($"trained model (Hugging Face folder): {r.ModelDir}");
        Console.WriteLine($"finished in {elapsed.TotalMinutes:0.0} min");
    }
}
