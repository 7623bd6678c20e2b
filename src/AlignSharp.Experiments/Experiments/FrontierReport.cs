using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ScottPlot;
using AlignSharp.IO;

namespace AlignSharp.Experiments;

/// <summary>Paths of the files one frontier run wrote.</summary>
public sealed record FrontierFiles(string Png, string Markdown, string Csv, string Jsonl);

/// <summary>
/// Writes the frontier's results: a PNG of ground-truth reward vs KL per method (ScottPlot, headless), a markdown
/// report with tables, and the raw points as CSV and JSONL. Every file is written under a temporary name and renamed.
/// </summary>
public static class FrontierReport
{
    /// <summary>Size of the PNG in pixels (the legend sits right of the plot).</summary>
    public const int Width = 1300, Height = 750;

    /// <summary>KL budgets (nats) of the matched-KL table.</summary>
    public static readonly double[] KlBudgets = [0.5, 1, 2, 4, 8, 16];

    /// <summary>Writes frontier.png, frontier.md, frontier.csv and frontier.jsonl into <paramref name="dir"/>.</summary>
    public static FrontierFiles Write(string dir, FrontierOptions o, IReadOnlyList<FrontierPoint> points, double seconds,
        FrontierRewardModel? rewardModel = null)
    {
        Directory.CreateDirectory(dir);
        var files = new FrontierFiles(Path.Combine(dir, "frontier.png"), Path.Combine(dir, "frontier.md"), Path.Combine(dir, "frontier.csv"), Path.Combine(dir, "frontier.jsonl"));
        AtomicFile.Write(files.Csv, path => File.WriteAllText(path, Csv(points), new UTF8Encoding(false)));
        AtomicFile.Write(files.Jsonl, path => File.WriteAllText(path, Jsonl(points), new UTF8Encoding(false)));
        AtomicFile.Write(files.Markdown, path => File.WriteAllText(path, Markdown(o, points, seconds, rewardModel), new UTF8Encoding(false)));
        AtomicFile.Write(files.Png, path => Plot(points, o).SavePng(path, Width, Height));
        return files;
    }

    /// <summary>
    /// The raw points as CSV (invariant culture; NaN for values that do not apply). <c>beta</c> holds the run's swept
    /// value and <c>knob</c> names it (beta, alpha, kl_coef, or empty).
    /// </summary>
    public static string Csv(IReadOnlyList<FrontierPoint> points)
    {
        var sb = new StringBuilder("method,knob,beta,n,step,reward,reward_se,kl,kl_se,implicit_accuracy,mean_length,loss,seconds\n");
        foreach (var p in points)
            sb.AppendLine(string.Join(',', p.Method, IsRun(p) ? p.Knob : "", F(p.Beta), p.N.ToString(CultureInfo.InvariantCulture), p.Step.ToString(CultureInfo.InvariantCulture),
                F(p.Reward), F(p.RewardSe), F(p.Kl), F(p.KlSe), F(p.ImplicitAccuracy), F(p.MeanLength), F(p.Loss), F(p.Seconds)));
        return sb.ToString();
    }

    /// <summary>The raw points as JSON lines (values that do not apply are null).</summary>
    public static string Jsonl(IReadOnlyList<FrontierPoint> points)
    {
        var sb = new StringBuilder();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var p in points)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, options))
            {
                w.WriteStartObject();
                w.WriteString("method", p.Method);
                w.WriteString("knob", IsRun(p) ? p.Knob : "");
                Number(w, "beta", p.Beta);
                w.WriteNumber("n", p.N);
                w.WriteNumber("step", p.Step);
                Number(w, "reward", p.Reward); Number(w, "reward_se", p.RewardSe);
                Number(w, "kl", p.Kl); Number(w, "kl_se", p.KlSe);
                Number(w, "implicit_accuracy", p.ImplicitAccuracy);
                Number(w, "mean_length", p.MeanLength);
                Number(w, "loss", p.Loss);
                Number(w, "seconds", p.Seconds);
                w.WriteEndObject();
            }
            sb.AppendLine(Encoding.UTF8.GetString(stream.ToArray()));
        }
        return sb.ToString();
    }

    /// <summary>The markdown report: settings, final checkpoint per run, best-of-N, and best reward within KL budgets.</summary>
    public static string Markdown(FrontierOptions o, IReadOnlyList<FrontierPoint> points, double seconds,
        FrontierRewardModel? rewardModel = null)
    {
        var sb = new StringBuilder();
        var basePoint = points.FirstOrDefault(p => p.Method == "base");
        sb.AppendLine($"# Reward vs KL frontier ({o.Preset} preset)");
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Seed {o.Seed}; base model: byte-level GPT-2, d={o.Hidden}, {o.Layers} layer(s), {o.PretrainSteps} steps on {o.CorpusSize} reviews; " +
            $"{o.TrainPairs} train / {o.EvalPairs} held-out pairs (Bradley-Terry scale {o.LabelScale}); {o.Steps} steps of batch {o.Batch} at lr {o.LearningRate} per run; " +
            $"evaluation on {o.EvalPrompts} held-out prompts x {o.SamplesPerPrompt} samples every {o.EvalEvery} steps. Wall time {seconds:0} s."));
        if (basePoint is not null)
            sb.AppendLine().AppendLine(Inv($"Base (SFT) model: ground-truth reward {basePoint.Reward:0.000} ± {basePoint.RewardSe:0.000}, mean length {basePoint.MeanLength:0.0} tokens."));
        if (o.RlMethods.Count > 0)
        {
            sb.AppendLine().AppendLine(Inv($"RL baselines: {o.RlSteps} rounds of {o.RlPromptsPerStep} samples (PPO: one per prompt, {o.RlPpoEpochs} epochs; RLOO: k = {o.RlooK}) at lr {o.RlLearningRate}, evaluated every {o.RlEvalEvery} rounds; ") +
                Inv($"ppo and rloo optimise a reward model trained on the same train pairs ({o.RewardSteps} Bradley-Terry steps of batch {o.Batch} at lr {o.RewardLearningRate}, from the base model), ppo_gt the ground-truth reward."));
            if (rewardModel is not null)
                sb.AppendLine().AppendLine(Inv($"Reward model: held-out accuracy {rewardModel.LabelAccuracy:0.000} against the pairs' labels, {rewardModel.GroundTruthAccuracy:0.000} against the ground-truth order."));
        }
        sb.AppendLine();
        sb.AppendLine("## Final checkpoint of each run");
        sb.AppendLine();
        sb.AppendLine("| method | setting | steps | GT reward | KL (nats) | implicit acc. | best GT reward on the run (at KL) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var run in Runs(points))
        {
            var last = run[^1];
            var best = run.MaxBy(p => p.Reward)!;
            sb.AppendLine(Inv($"| {last.Method} | {(last.Setting.Length == 0 ? "–" : last.Setting)} | {last.Step} | {last.Reward:0.000} ± {last.RewardSe:0.000} | {last.Kl:0.00} ± {last.KlSe:0.00} | {last.ImplicitAccuracy:0.00} | {best.Reward:0.000} ({best.Kl:0.00}) |"));
        }
        var bon = points.Where(p => p.Method == "best_of_n").OrderBy(p => p.N).ToList();
        if (bon.Count > 0)
        {
            sb.AppendLine().AppendLine("## Best-of-N sampling from the base model").AppendLine();
            sb.AppendLine("| N | GT reward | KL (analytic, nats) |");
            sb.AppendLine("|---:|---:|---:|");
            foreach (var p in bon) sb.AppendLine(Inv($"| {p.N} | {p.Reward:0.000} ± {p.RewardSe:0.000} | {p.Kl:0.00} |"));
        }
        sb.AppendLine().AppendLine("## Best GT reward within a KL budget (any β, any checkpoint)").AppendLine();
        sb.AppendLine("| method | " + string.Join(" | ", KlBudgets.Select(b => Inv($"KL ≤ {b:0.#}"))) + " |");
        sb.AppendLine("|---|" + string.Concat(KlBudgets.Select(_ => "---:|")));
        foreach (var method in points.Where(p => p.Method != "base").Select(p => p.Method).Distinct())
        {
            var mine = points.Where(p => p.Method == method).ToList();
            sb.AppendLine($"| {method} | " + string.Join(" | ", KlBudgets.Select(b =>
                mine.Where(p => p.Kl <= b).MaxBy(p => p.Reward) is { } best ? Inv($"{best.Reward:0.000}") : "–")) + " |");
        }
        return sb.ToString();
    }

    /// <summary>The trajectories of training runs (one list per method and β, in step order).</summary>
    public static List<List<FrontierPoint>> Runs(IReadOnlyList<FrontierPoint> points) =>
        points.Where(IsRun)
            .GroupBy(p => (p.Method, p.Beta))
            .Select(g => g.OrderBy(p => p.Step).ToList())
            .ToList();

    /// <summary>True for a training run's point (not the base model or best-of-N).</summary>
    private static bool IsRun(FrontierPoint p) => p.Method is not "base" and not "best_of_n";

    private static Plot Plot(IReadOnlyList<FrontierPoint> points, FrontierOptions o)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var methods = points.Where(IsRun).Select(p => p.Method).Distinct().ToList();
        var shapes = new[] { MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.OpenTriangleUp };
        foreach (var run in Runs(points))
        {
            int m = methods.IndexOf(run[0].Method);
            bool rl = o.RlMethods.Any(x => x.Id == run[0].Method);
            int b = rl ? o.RlMethods.First(x => x.Id == run[0].Method).KlCoefs.ToList().IndexOf(run[0].Beta)
                : o.Methods.FirstOrDefault(x => x.Id == run[0].Method)?.Values.ToList().FindIndex(v => v.Equals(run[0].Beta)) ?? 0;
            var s = plot.Add.Scatter(run.Select(p => p.Kl).ToArray(), run.Select(p => p.Reward).ToArray(), palette.GetColor(m));
            // The RLHF baselines are drawn thick and dashed, the offline objectives thin and solid.
            s.LineWidth = rl ? 2 : 1;
            if (rl) s.LinePattern = LinePattern.Dashed;
            s.MarkerSize = 7;
            s.MarkerShape = shapes[Math.Max(0, b) % shapes.Length];
            s.LegendText = run[0].Run;
        }
        var bon = points.Where(p => p.Method == "best_of_n").OrderBy(p => p.N).ToList();
        if (bon.Count > 0)
        {
            var s = plot.Add.Scatter(bon.Select(p => p.Kl).ToArray(), bon.Select(p => p.Reward).ToArray(), Colors.Black);
            s.LinePattern = LinePattern.Dashed;
            s.LineWidth = 2;
            s.MarkerSize = 6;
            s.LegendText = "best-of-N (analytic KL)";
        }
        if (points.FirstOrDefault(p => p.Method == "base") is { } basePoint)
        {
            var line = plot.Add.HorizontalLine(basePoint.Reward, 1, Colors.Gray, LinePattern.Dotted);
            line.LegendText = "base (SFT) model";
        }
        plot.Title(Inv($"Ground-truth reward vs KL to the reference (review task, {o.Preset} preset)"));
        plot.XLabel("KL(π ‖ π_ref), nats per completion (estimated from samples)");
        plot.YLabel("mean ground-truth reward of samples");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
