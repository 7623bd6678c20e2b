using System.Globalization;
using AlignSharp.Training;
using Spectre.Console;

namespace AlignSharp.Cli;

/// <summary>
/// Shows training progress: a live Spectre progress bar on a terminal, plain log lines otherwise (CI, pipes),
/// where Spectre would print about one line for the whole run.
/// </summary>
internal static class ConsoleProgress
{
    /// <summary>True when output goes to an interactive terminal.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with an observer that renders to the console.</summary>
    public static T Run<T>(string title, Func<ITrainingObserver, T> work)
    {
        if (!Interactive) return work(new PlainObserver());
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1);
                result = work(new BarObserver(task));
            });
        return result;
    }

    /// <summary>One compact line of the headline metrics.</summary>
    public static string Format(int step, int maxSteps, IReadOnlyDictionary<string, double> m)
    {
        static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
        var keys = new[] { "loss", "rewards/accuracies", "rewards/margins", "grad_norm", "learning_rate",
            "eval_loss", "eval_rewards/accuracies", "eval_rewards/margins" };
        var parts = keys.Where(m.ContainsKey).Select(k => $"{k}={(k == "learning_rate" ? m[k].ToString("0.##e0", CultureInfo.InvariantCulture) : F(m[k]))}");
        return $"step {step}/{maxSteps} " + string.Join(" ", parts);
    }

    private sealed class PlainObserver : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) => Console.WriteLine(Format(step, maxSteps, metrics));

        public void OnMessage(string message) => Console.WriteLine(message);
    }

    private sealed class BarObserver(ProgressTask task) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics)
        {
            task.MaxValue = maxSteps;
            task.Value = step;
            task.Description = Markup.Escape(Format(step, maxSteps, metrics));
            if (metrics.Keys.Any(k => k.StartsWith("eval_", StringComparison.Ordinal)))
                AnsiConsole.MarkupLine(Markup.Escape(Format(step, maxSteps, metrics)));
        }

        public void OnMessage(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));
    }
}
