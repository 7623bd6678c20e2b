using System.Globalization;
using System.Text;
using AlignSharp.IO;
using ScottPlot;

namespace AlignSharp.Experiments;

/// <summary>
/// Writes the online experiment's results: two PNGs (ground-truth reward against labels used, and against KL to the
/// base model; ScottPlot, headless), a markdown report with tables, and the raw points as CSV; each file atomically.
/// </summary>
public static class OnlineExperimentReport
{
    /// <summary>Writes online.png, online-kl.png, online.md and online.csv into <paramref name="dir"/>.</summary>
    public static OnlineExperimentFiles Write(string dir, OnlineExperimentOptions o, IReadOnlyList<OnlinePoint> points,
        double seconds)
    {
        var files = new OnlineExperimentFiles(Path.Combine(dir, "online.png"), Path.Combine(dir, "online-kl.png"),
            Path.Combine(dir, "online.md"), Path.Combine(dir, "online.csv"));
        AtomicFile.WriteAllText(files.Csv, Csv(points));
        AtomicFile.WriteAllText(files.Markdown, Markdown(o, points, seconds));
        AtomicFile.Write(files.Png, path => Plot(points, o, byKl: false).SavePng(path, 1000, 650));
        AtomicFile.Write(files.KlPng, path => Plot(points, o, byKl: true).SavePng(path, 1000, 650));
        return files;
    }

    /// <summary>The raw points as CSV (invariant culture).</summary>
    public static string Csv(IReadOnlyList<OnlinePoint> points)
    {
        var sb = new StringBuilder("method,iteration,labels,pairs,steps,reward,reward_se,kl,kl_se,mean_length,seconds\n");
        foreach (var p in points)
            sb.AppendLine(string.Join(',', p.Method, I(p.Iteration), I(p.Labels), I(p.Pairs), I(p.Steps), F(p.Reward),
                F(p.RewardSe), F(p.Kl), F(p.KlSe), F(p.MeanLength), F(p.Seconds)));
        return sb.ToString();
    }

    /// <summary>
    /// The markdown report: settings, ground-truth reward of every method at each label count, and each method's
    /// last point (labels, pairs, steps, reward, KL, length).
    /// </summary>
    public static string Markdown(OnlineExperimentOptions o, IReadOnlyList<OnlinePoint> points, double seconds)
    {
        var sb = new StringBuilder();
        var b = o.Base;
        sb.AppendLine($"# Online vs offline preference optimization at equal labels ({o.Preset} preset)").AppendLine();
        sb.AppendLine(Inv($"Seed {o.Seed}; base model: byte-level GPT-2, d={b.Hidden}, {b.Layers} layer(s), ") +
            Inv($"{b.PretrainSteps} steps on {b.CorpusSize} reviews; {o.Labels} labels per method in ") +
            Inv($"{o.Iterations} rounds; batch {o.Batch}, lr {o.LearningRate}, DPO β {o.Beta}, SPPO β {o.SppoBeta} ") +
            Inv($"(n={o.SppoSamples}); evaluation on {o.EvalPrompts} held-out prompts x {o.SamplesPerPrompt} ") +
            Inv($"samples. Wall time {seconds:0} s."));
        var reference = points.FirstOrDefault(p => p.Method == "reference");
        if (reference is not null)
            sb.AppendLine().AppendLine(Inv($"Reference (base) model: ground-truth reward {reference.Reward:0.000} ± ") +
                Inv($"{reference.RewardSe:0.000}, mean length {reference.MeanLength:0.0} tokens."));
        var methods = Methods(points);
        var budgets = points.Where(p => p.Method != "reference" && p.Method != "dice").Select(p => p.Labels)
            .Distinct().Order().ToList();
        sb.AppendLine().AppendLine("## Ground-truth reward at equal labels").AppendLine();
        sb.AppendLine("| method | " + string.Join(" | ", budgets.Select(l => Inv($"{l} labels"))) + " |");
        sb.AppendLine("|---|" + string.Concat(budgets.Select(_ => "---:|")));
        foreach (var m in methods.Where(m => m != "dice"))
        {
            var mine = points.Where(p => p.Method == m).ToList();
            sb.AppendLine($"| {m} | " + string.Join(" | ", budgets.Select(l =>
                mine.LastOrDefault(p => p.Labels == l) is { } p ? Inv($"{p.Reward:0.000} ± {p.RewardSe:0.000}") : "–"))
                + " |");
        }
        sb.AppendLine().AppendLine("## Every evaluated policy").AppendLine();
        sb.AppendLine("| method | iteration | labels | pairs trained | steps | GT reward | KL to base (nats) | length |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in points)
            sb.AppendLine(Inv($"| {p.Method} | {p.Iteration} | {p.Labels} | {p.Pairs} | {p.Steps} | ") +
                Inv($"{p.Reward:0.000} ± {p.RewardSe:0.000} | {p.Kl:0.00} ± {p.KlSe:0.00} | {p.MeanLength:0.0} |"));
        return sb.ToString();
    }

    private static List<string> Methods(IReadOnlyList<OnlinePoint> points) =>
        [.. points.Where(p => p.Method != "reference").Select(p => p.Method).Distinct()];

    private static Plot Plot(IReadOnlyList<OnlinePoint> points, OnlineExperimentOptions o, bool byKl)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var reference = points.FirstOrDefault(p => p.Method == "reference");
        var methods = Methods(points);
        for (int m = 0; m < methods.Count; m++)
        {
            var mine = points.Where(p => p.Method == methods[m]).ToList();
            // Every trajectory starts at the reference model (DICE at offline DPO's last point).
            var start = methods[m] == "dice" ? points.LastOrDefault(p => p.Method == "offline_dpo") : reference;
            if (start is not null) mine.Insert(0, start);
            double[] x = [.. mine.Select(p => byKl ? p.Kl : p.Labels + (p.Method == "dice" ? p.Iteration * o.Labels / 50.0 : 0))];
            var s = plot.Add.Scatter(x, [.. mine.Select(p => p.Reward)], palette.GetColor(m));
            s.LineWidth = 2;
            s.MarkerSize = 7;
            s.LegendText = methods[m];
            if (!byKl)
            {
                var bars = plot.Add.ErrorBar(x, [.. mine.Select(p => p.Reward)], [.. mine.Select(p => p.RewardSe)]);
                bars.Color = palette.GetColor(m);
            }
        }
        if (reference is not null)
            plot.Add.HorizontalLine(reference.Reward, 1, Colors.Gray, LinePattern.Dotted).LegendText = "reference (base)";
        plot.Title(Inv($"Online vs offline at equal labels (review task, {o.Preset} preset)"));
        plot.XLabel(byKl ? "KL(π ‖ π_base), nats per completion (estimated from samples)"
            : "preference labels used (DICE: offline DPO's labels; its unlabelled rounds drawn just right of them)");
        plot.YLabel("mean ground-truth reward of samples");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
