using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.IO;
using ScottPlot;
using SkiaSharp;

namespace AlignSharp.Cli;

/// <summary>
/// A run's <c>loss.png</c>: training and evaluation loss, reward margins and reward accuracies by step, three panels
/// stacked in one picture (ScottPlot, headless), read from the run's <c>metrics.jsonl</c> under TRL's names. Written
/// at the end of <c>alignsharp train</c> and by <c>alignsharp plot RUN_DIR</c>. Plotting lives in the application
/// (the core library references no plotting package).
/// </summary>
internal static class LossPlot
{
    /// <summary>The picture's file name in the run folder.</summary>
    public const string FileName = "loss.png";

    /// <summary>Picture width in pixels.</summary>
    public const int Width = 900;

    /// <summary>Height of one panel in pixels (the picture is three panels high).</summary>
    public const int PanelHeight = 300;

    /// <summary>Each panel: title, the training metric, its evaluation twin.</summary>
    internal static readonly (string Title, string Train, string Eval)[] Panels =
    [
        ("loss", "loss", "eval_loss"),
        ("reward margin (chosen - rejected)", "rewards/margins", "eval_rewards/margins"),
        ("reward accuracy", "rewards/accuracies", "eval_rewards/accuracies"),
    ];

    /// <summary>Writes <c>RUN_DIR/loss.png</c> atomically from <c>RUN_DIR/metrics.jsonl</c>; returns its path.</summary>
    /// <exception cref="AlignSharpException">The folder holds no metrics.jsonl, or no line has a metric to plot.</exception>
    public static string Write(string runDir)
    {
        string metrics = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(metrics))
            throw new AlignSharpException($"{runDir}: no metrics.jsonl to plot (give the output_dir of a training run)");
        var series = Read(metrics);
        if (!Panels.Any(p => series.ContainsKey(p.Train) || series.ContainsKey(p.Eval)))
            throw new AlignSharpException($"{metrics}: no step logged {string.Join(", ", Panels.Select(p => p.Train))} " +
                "or their eval_ twins; nothing to plot");
        string path = Path.Combine(runDir, FileName);
        AtomicFile.WriteStream(path, stream => Render(series, stream));
        return path;
    }

    /// <summary>Metric name -> (step, value) in file order; torn lines and non-finite values are skipped.</summary>
    internal static Dictionary<string, List<(double Step, double Value)>> Read(string path)
    {
        var series = new Dictionary<string, List<(double, double)>>();
        foreach (var line in File.ReadLines(path))
        {
            JsonObject? row;
            try { row = JsonNode.Parse(line) as JsonObject; }
            catch (JsonException) { continue; } // a line torn by a crash: the trainer drops it on resume too
            if (row?["step"] is not JsonValue s || !s.TryGetValue(out double step)) continue;
            foreach (var (name, node) in row)
                if (name != "step" && node is JsonValue v && v.TryGetValue(out double value) && double.IsFinite(value))
                    (series.TryGetValue(name, out var list) ? list : series[name] = []).Add((step, value));
        }
        return series;
    }

    private static void Render(Dictionary<string, List<(double Step, double Value)>> series, Stream stream)
    {
        var info = new SKImageInfo(Width, PanelHeight * Panels.Length);
        using var surface = SKSurface.Create(info);
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < Panels.Length; i++)
        {
            var (title, train, eval) = Panels[i];
            var plot = new Plot();
            plot.Title(title);
            plot.XLabel("step");
            foreach (var (name, color, label) in new[] { (train, Colors.C0, "train"), (eval, Colors.C1, "eval") })
            {
                if (!series.TryGetValue(name, out var points)) continue;
                var scatter = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray(),
                    color);
                scatter.LegendText = $"{label} ({name})";
                scatter.MarkerSize = points.Count > 50 ? 0 : 4;
            }
            if (!series.ContainsKey(train) && !series.ContainsKey(eval))
                plot.Add.Annotation($"not logged: {train}, {eval}");
            plot.ShowLegend(Alignment.UpperRight);
            // Each panel on a surface of its own (a plot clears the whole canvas it renders on), then stacked.
            using var panel = SKSurface.Create(new SKImageInfo(Width, PanelHeight));
            plot.Render(panel);
            using var picture = panel.Snapshot();
            surface.Canvas.DrawImage(picture, 0, i * PanelHeight);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        png.SaveTo(stream);
    }

    /// <summary>A short line for the end of a run: where the picture is, or why there is none.</summary>
    public static string TryWrite(string runDir)
    {
        try
        {
            return "loss plot: " + Write(runDir);
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            return $"loss plot: not written ({e.Message})";
        }
    }

}
