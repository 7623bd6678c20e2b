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
    /// <summary>True when output goes to an interactive terminal (never a rank's output, which a launcher relays).</summary>
    public static bool Interactive =>
        !LauncherConsole.Relayed && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with an observer that renders to the console.</summary>
    public static T Run<T>(string title, Func<ITrainingObserver, T> work)
    {
        if (!Interactive) return work(new PlainObserver());
        T result = default!;
        var layout = BarLayout.For(AnsiConsole.Profile.Width);
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(layout.Columns())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(layout.Fit(title)), maxValue: 1);
                result = work(new BarObserver(task, layout, title));
            });
        return result;
    }

    /// <summary>
    /// Writes one line for a person: on a terminal wrapped at word boundaries to its width (as the lines above the
    /// live bar are), elsewhere as it is.
    /// </summary>
    public static void WriteLine(string text)
    {
        if (!Interactive)
        {
            Console.WriteLine(text);
            return;
        }
        foreach (var line in Wrap(text, AnsiConsole.Profile.Width - 1)) AnsiConsole.WriteLine(line);
    }

    /// <summary>
    /// Breaks <paramref name="text"/> into lines of at most <paramref name="width"/> characters, at spaces where it
    /// can and inside a word (a long path) where it must. One column short of the terminal: a line exactly as wide
    /// as the terminal leaves the cursor in the deferred-wrap state, which live displays miscount.
    /// </summary>
    internal static IEnumerable<string> Wrap(string text, int width)
    {
        width = Math.Max(8, width);
        foreach (var paragraph in text.Split('\n'))
        {
            var line = new System.Text.StringBuilder();
            foreach (var word in paragraph.Split(' '))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width)
                {
                    yield return line.ToString();
                    line.Clear();
                }
                if (line.Length > 0) line.Append(' ');
                var rest = word;
                while (line.Length + rest.Length > width)
                {
                    int take = width - line.Length;
                    yield return line.Append(rest[..take]).ToString();
                    line.Clear();
                    rest = rest[take..];
                }
                line.Append(rest);
            }
            yield return line.ToString();
        }
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

    /// <summary>
    /// The live bar, one line that never wraps: columns are dropped as the terminal narrows (remaining time, then
    /// elapsed time, then the bar itself) and the description is cut to the width left. The full metrics go to
    /// ordinary lines above the bar, which Spectre wraps at word boundaries and which stay in the scrollback.
    /// </summary>
    internal sealed record BarLayout(int Width, bool Bar, int BarWidth, bool Elapsed, bool Remaining)
    {
        private const int Percentage = 4, Time = 8, Gap = 1;

        /// <summary>The layout for a terminal <paramref name="width"/> columns wide.</summary>
        public static BarLayout For(int width) => width switch
        {
            >= 120 => new BarLayout(width, true, 40, true, true),
            >= 90 => new BarLayout(width, true, 30, false, true),
            >= 60 => new BarLayout(width, true, Math.Clamp(width - 50, 10, 30), false, false),
            _ => new BarLayout(width, false, 0, false, false),
        };

        /// <summary>Columns left to the description: the width minus the others and the gaps between columns.</summary>
        public int DescriptionWidth
        {
            get
            {
                int used = (Bar ? BarWidth + Gap : 0) + Percentage + Gap + (Elapsed ? Time + Gap : 0)
                    + (Remaining ? Time + Gap : 0);
                // One column spare: a line exactly as wide as the terminal makes some terminals wrap.
                return Math.Max(8, Width - used - 1);
            }
        }

        /// <summary>Cuts <paramref name="text"/> to the description's width.</summary>
        public string Fit(string text) =>
            text.Length <= DescriptionWidth ? text : text[..Math.Max(0, DescriptionWidth - 1)] + "…";

        /// <summary>Spectre's columns for this layout.</summary>
        public ProgressColumn[] Columns()
        {
            var columns = new List<ProgressColumn> { new TaskDescriptionColumn { Alignment = Justify.Left } };
            if (Bar) columns.Add(new ProgressBarColumn { Width = BarWidth });
            columns.Add(new PercentageColumn());
            if (Elapsed) columns.Add(new ElapsedTimeColumn());
            if (Remaining) columns.Add(new RemainingTimeColumn());
            return [.. columns];
        }
    }

    private sealed class BarObserver(ProgressTask task, BarLayout layout, string title) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics)
        {
            task.MaxValue = maxSteps;
            task.Value = step;
            string loss = metrics.TryGetValue("loss", out double l)
                ? " loss=" + l.ToString("0.####", CultureInfo.InvariantCulture) : "";
            task.Description = Markup.Escape(layout.Fit($"{title} {step}/{maxSteps}{loss}"));
            // Printed above the live bar: every logging step stays in the scrollback, as TRL's log lines do.
            WriteLine(Format(step, maxSteps, metrics));
        }

        public void OnMessage(string message) => WriteLine(message);
    }
}
