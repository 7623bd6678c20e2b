using ScottPlot;
using AlignSharp.IO;

namespace AlignSharp.Bench;

/// <summary>The benchmark chart: tokens/s (top) and peak resident memory (bottom) by model size, per library and setting.</summary>
internal static class Chart
{
    private sealed record Series(string Label, string Lib, string Reference, string LogProbs, Color Color);

    private static readonly Series[] Throughput =
    [
        new("AlignSharp (ref forward)", "alignsharp", "forward", "selected", Colors.SteelBlue),
        new("PyTorch eager (ref forward, same work)", "pytorch", "forward", "selected", Colors.Orange),
        new("AlignSharp (cached ref)", "alignsharp", "cached", "selected", Colors.Navy),
        new("PyTorch eager (ref forward, full log-softmax)", "pytorch", "forward", "full", Colors.FireBrick),
    ];

    /// <summary>Writes the PNG; uses the highest thread count measured for each model.</summary>
    public static void Write(IReadOnlyList<StepSummary> steps, string path)
    {
        var models = steps.OrderBy(s => s.Params).Select(s => s.Model).Distinct().ToList();
        if (models.Count == 0) return;
        int threads = steps.Max(s => s.Threads);
        var labels = models.Select(m => $"{m}\n{steps.First(s => s.Model == m).Params / 1e6:F0}M").ToArray();

        var multi = new Multiplot();
        multi.AddPlots(2);
        var top = multi.GetPlot(0);
        var bottom = multi.GetPlot(1);
        AddGroups(top, models, steps, threads, Throughput, s => s.TokensPerSecond);
        top.Title($"DPO training tokens/s ({threads} threads, higher is better)");
        top.YLabel("tokens/s");
        AddGroups(bottom, models, steps, threads, Throughput, s => s.PeakRssMiB / 1024);
        bottom.Title("Peak resident memory (lower is better)");
        bottom.YLabel("GiB");
        foreach (var p in new[] { top, bottom })
        {
            p.Axes.Bottom.SetTicks(Enumerable.Range(0, models.Count).Select(i => (double)i).ToArray(), labels);
            p.Axes.Margins(bottom: 0);
            p.ShowLegend(Edge.Bottom);
        }
        AtomicFile.Write(path, tmp => multi.SavePng(tmp, 1100, 900));
    }

    private static void AddGroups(Plot plot, List<string> models, IReadOnlyList<StepSummary> steps, int threads, Series[] series, Func<StepSummary, double> value)
    {
        double width = 0.8 / series.Length;
        for (int k = 0; k < series.Length; k++)
        {
            var sr = series[k];
            var bars = new List<Bar>();
            for (int i = 0; i < models.Count; i++)
            {
                var s = steps.FirstOrDefault(x => x.Model == models[i] && x.Threads == threads && x.Lib == sr.Lib && x.Reference == sr.Reference && x.LogProbs == sr.LogProbs && !x.Checkpointing);
                if (s is null) continue;
                bars.Add(new Bar { Position = i - 0.4 + width * (k + 0.5), Value = value(s), Size = width * 0.95, FillColor = sr.Color });
            }
            if (bars.Count == 0) continue;
            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = sr.Label;
            plottable.Color = sr.Color;
        }
    }
}
