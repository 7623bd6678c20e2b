using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using ScottPlot;

namespace AlignSharp.Experiments;

/// <summary>One row of the reasoning table: a model's scores, averaged over its replicates.</summary>
/// <param name="Method">"base" or a method id.</param>
/// <param name="Replicates">Runs averaged.</param>
/// <param name="Pairs">Mean training pairs per run.</param>
/// <param name="Values">Per metric (<see cref="ReasoningReport.Metrics"/>): mean and standard error. Over replicates
/// when there are two or more (the spread of training outcomes); otherwise over the held-out problems of the one run.</param>
public sealed record ReasoningSummary(string Method, int Replicates, double Pairs,
    IReadOnlyDictionary<string, Estimate> Values);

/// <summary>
/// Writes the reasoning experiment's results, each file atomically: a table as JSON (<c>reasoning.json</c>: settings,
/// the summary rows and every evaluated run) and markdown (<c>reasoning.md</c>), and a bar chart of the summary with
/// error bars (<c>reasoning.png</c>, ScottPlot, headless). The experiment adds <c>token-rewards.png</c>
/// (<see cref="TokenRewardPicture"/>).
/// </summary>
public static class ReasoningReport
{
    /// <summary>The reported metrics in table order: key and header.</summary>
    public static IReadOnlyList<(string Key, string Header)> Metrics { get; } =
    [
        ("greedy_final", "final answer (greedy)"),
        ("greedy_steps", "per-step (greedy)"),
        ("greedy_full", "fully correct (greedy)"),
        ("sampled_final", "final answer (T=1)"),
        ("sampled_steps", "per-step (T=1)"),
    ];

    /// <summary>Writes reasoning.json, reasoning.md and reasoning.png into <paramref name="dir"/>.</summary>
    public static ReasoningFiles Write(string dir, ReasoningOptions o, IReadOnlyList<ReasoningPoint> points,
        double seconds)
    {
        var files = new ReasoningFiles(Path.Combine(dir, "reasoning.png"), Path.Combine(dir, "reasoning.md"),
            Path.Combine(dir, "reasoning.json"), Path.Combine(dir, "token-rewards.png"));
        var summary = Summarize(points);
        AtomicFile.WriteAllText(files.Json, Json(o, summary, points, seconds));
        AtomicFile.WriteAllText(files.Markdown, Markdown(o, summary, points, seconds));
        AtomicFile.Write(files.Png, path => Plot(o, summary).SavePng(path, 1000, 600));
        return files;
    }

    /// <summary>The value of metric <paramref name="key"/> in one run.</summary>
    public static Estimate Value(ReasoningPoint p, string key) => key switch
    {
        "greedy_final" => p.Greedy.Final,
        "greedy_steps" => p.Greedy.Steps,
        "greedy_full" => p.Greedy.Full,
        "sampled_final" => p.Sampled.Final,
        "sampled_steps" => p.Sampled.Steps,
        _ => throw new ExperimentException($"unknown metric '{key}'"),
    };

    /// <summary>One row per model, in the order first evaluated.</summary>
    public static List<ReasoningSummary> Summarize(IReadOnlyList<ReasoningPoint> points) =>
    [
        .. points.GroupBy(p => p.Method).Select(g =>
        {
            var runs = g.ToList();
            var values = Metrics.ToDictionary(m => m.Key, m => runs.Count == 1
                ? Value(runs[0], m.Key)
                : Estimate.Of([.. runs.Select(r => Value(r, m.Key).Mean)]));
            return new ReasoningSummary(g.Key, runs.Count, runs.Average(r => (double)r.Pairs), values);
        }),
    ];

    /// <summary>Settings, summary rows and every run as indented JSON.</summary>
    public static string Json(ReasoningOptions o, IReadOnlyList<ReasoningSummary> summary,
        IReadOnlyList<ReasoningPoint> points, double seconds)
    {
        static JsonObject Est(Estimate e) => new() { ["mean"] = e.Mean, ["se"] = e.StandardError, ["n"] = e.Count };
        static JsonObject Score(Evaluation.Estimate final, Estimate steps, Estimate full) =>
            new() { ["final"] = Est(final), ["steps"] = Est(steps), ["full"] = Est(full) };
        var root = new JsonObject
        {
            ["experiment"] = "reasoning",
            ["preset"] = o.Preset,
            ["settings"] = JsonSerializer.SerializeToNode(o),
            ["seconds"] = seconds,
            ["summary"] = new JsonArray([.. summary.Select(s =>
            {
                var row = new JsonObject { ["method"] = s.Method, ["replicates"] = s.Replicates, ["pairs"] = s.Pairs };
                foreach (var (key, _) in Metrics) row[key] = Est(s.Values[key]);
                return (JsonNode)row;
            })]),
            ["runs"] = new JsonArray([.. points.Select(p => (JsonNode)new JsonObject
            {
                ["method"] = p.Method, ["replicate"] = p.Replicate, ["pairs"] = p.Pairs,
                ["loss"] = double.IsNaN(p.Loss) ? null : p.Loss,
                ["reward_accuracy"] = double.IsNaN(p.Accuracy) ? null : p.Accuracy,
                ["greedy"] = Score(p.Greedy.Final, p.Greedy.Steps, p.Greedy.Full),
                ["sampled"] = Score(p.Sampled.Final, p.Sampled.Steps, p.Sampled.Full),
                ["seconds"] = p.Seconds,
            })]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The markdown report: settings, the summary table, and every run.</summary>
    public static string Markdown(ReasoningOptions o, IReadOnlyList<ReasoningSummary> summary,
        IReadOnlyList<ReasoningPoint> points, double seconds)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Whole-solution DPO vs Step-DPO vs SCDPO on arithmetic ({o.Preset} preset)").AppendLine();
        sb.AppendLine(Inv($"Seed {o.Seed}; base: byte-level GPT-2 d={o.Hidden}, {o.Layers} layer(s), SFT ") +
            Inv($"{o.PretrainSteps} steps on {o.CorpusSize} solved problems (up to {o.MaxEvents} steps each). ") +
            Inv($"{o.Seeds} replicate(s) of {o.TrainProblems} training problems x {o.SamplesPerProblem} samples ") +
            Inv($"(T=1); SCDPO regenerations at T={o.RegenerationTemperature}, up to {o.Regenerations} per problem. ") +
            Inv($"Every method: β {o.Beta}, lr {o.LearningRate}, batch {o.Batch}, {o.Steps} steps, base as ") +
            Inv($"frozen reference. Scored by the checker on {points[0].Greedy.Final.Count} held-out problems ") +
            Inv($"(greedy, and {o.EvalSamples} sample(s) each at T=1). Wall time {seconds:0} s."));
        sb.AppendLine().AppendLine(o.Seeds > 1
            ? "Mean ± standard error over replicates (the base: over held-out problems)."
            : "Mean ± standard error over held-out problems.").AppendLine();
        sb.AppendLine("| model | pairs | " + string.Join(" | ", Metrics.Select(m => m.Header)) + " |");
        sb.AppendLine("|---|---:|" + string.Concat(Metrics.Select(_ => "---:|")));
        foreach (var s in summary)
            sb.AppendLine(Inv($"| {s.Method} | {(s.Method == "base" ? "–" : Inv($"{s.Pairs:0}"))} | ") +
                string.Join(" | ", Metrics.Select(m => Inv($"{s.Values[m.Key].Mean:0.000} ± {s.Values[m.Key].StandardError:0.000}")))
                + " |");
        sb.AppendLine().AppendLine("## Every run").AppendLine();
        sb.AppendLine("| model | replicate | pairs | final loss | reward acc. | " +
            string.Join(" | ", Metrics.Select(m => m.Header)) + " |");
        sb.AppendLine("|---|---:|---:|---:|---:|" + string.Concat(Metrics.Select(_ => "---:|")));
        foreach (var p in points)
            sb.AppendLine(Inv($"| {p.Method} | {p.Replicate} | {p.Pairs} | {p.Loss:0.000} | {p.Accuracy:0.00} | ") +
                string.Join(" | ", Metrics.Select(m => Inv($"{Value(p, m.Key).Mean:0.000}"))) + " |");
        return sb.ToString();
    }

    private static Plot Plot(ReasoningOptions o, IReadOnlyList<ReasoningSummary> summary)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var metrics = Metrics.Where(m => m.Key != "greedy_full").ToList();
        double width = 0.8 / summary.Count;
        var bars = new List<Bar>();
        for (int s = 0; s < summary.Count; s++)
        {
            var color = s == 0 ? Colors.Gray : palette.GetColor(s - 1);
            for (int m = 0; m < metrics.Count; m++)
            {
                var e = summary[s].Values[metrics[m].Key];
                bars.Add(new Bar
                {
                    Position = m + (s - (summary.Count - 1) / 2.0) * width, Value = e.Mean, Error = e.StandardError,
                    FillColor = color, Size = width * 0.95,
                });
            }
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = summary[s].Method, FillColor = color });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. metrics.Select((_, m) => (double)m)], [.. metrics.Select(m => m.Header)]);
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title(Inv($"Held-out arithmetic: DPO vs Step-DPO vs SCDPO ({o.Preset} preset, {o.Seeds} replicate(s))"));
        plot.YLabel("accuracy (checker)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
