using System.Buffers.Binary;
using AlignSharp.Cli;
using SkiaSharp;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// <c>loss.png</c>: written at the end of every <c>train</c> run and by <c>alignsharp plot RUN_DIR</c>, a valid PNG of
/// the stated size whose three panels hold the train (and eval) curves of loss, reward margins and accuracies;
/// <c>plot</c> on a folder without metrics is one error line.
/// </summary>
[Collection("Console")]
public sealed class LossPlotTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    private static string Example(string name) => Path.Combine(TestSetup.RepoRoot, "examples", name);

    /// <summary>Width and height from the PNG signature and IHDR chunk, read by hand (big-endian at bytes 16 and 20).</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    /// <summary>Pixels of panel <paramref name="panel"/> within a small distance of <paramref name="color"/>.</summary>
    private static int CountNear(SKBitmap bitmap, int panel, SKColor color)
    {
        int count = 0;
        for (int y = panel * LossPlot.PanelHeight; y < (panel + 1) * LossPlot.PanelHeight; y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 40) count++;
            }
        return count;
    }

    [Fact]
    public void Train_writes_loss_png_and_plot_redraws_it_with_train_and_eval_curves_in_every_panel()
    {
        string output = Path.Combine(TestTemp.Dir("lossplot"), "run");
        var (code, stdout, err) = Run("train", "--config", Example("dpo-tiny.yaml"), "--set", $"output_dir={output}",
            "--set", $"data.train={Example("tiny-pairs.jsonl")}", "--set", "training.max_steps=4",
            "--set", "training.logging_steps=1", "--set", "training.eval_steps=2", "--set", "training.save_steps=0");
        Assert.True(code == 0, err);
        string png = Path.Combine(output, LossPlot.FileName);
        Assert.Contains($"loss plot: {png}", stdout);
        Assert.Equal((LossPlot.Width, 3 * LossPlot.PanelHeight), PngSize(png));

        using (var bitmap = SKBitmap.Decode(png))
        {
            Assert.Equal((LossPlot.Width, 3 * LossPlot.PanelHeight), (bitmap.Width, bitmap.Height));
            var train = SKColor.Parse(ScottPlot.Colors.C0.ToHex());
            var eval = SKColor.Parse(ScottPlot.Colors.C1.ToHex());
            for (int panel = 0; panel < LossPlot.Panels.Length; panel++)
            {
                Assert.True(CountNear(bitmap, panel, train) > 20, $"panel {panel}: no train curve");
                Assert.True(CountNear(bitmap, panel, eval) > 20, $"panel {panel}: no eval curve");
            }
        }

        File.Delete(png);
        (code, stdout, err) = Run("plot", output);
        Assert.True(code == 0, err);
        Assert.Equal($"wrote {png}", stdout.Trim());
        Assert.Equal((LossPlot.Width, 3 * LossPlot.PanelHeight), PngSize(png));
    }

    [Fact]
    public void Plot_on_a_folder_without_metrics_or_a_missing_folder_is_one_error_line()
    {
        string empty = TestTemp.Dir("noplot");
        var (code, stdout, err) = Run("plot", empty);
        Assert.Equal(1, code);
        Assert.Equal($"error: {empty}: no metrics.jsonl to plot (give the output_dir of a training run)", err.Trim());
        Assert.Equal("", stdout);
        Assert.False(File.Exists(Path.Combine(empty, LossPlot.FileName)));

        string missing = Path.Combine(empty, "nope");
        (code, _, err) = Run("plot", missing);
        Assert.Equal(1, code);
        Assert.Equal($"error: {missing}: no such folder", err.Trim());
    }

    [Fact]
    public void Metrics_are_read_by_step_skipping_torn_lines_and_non_finite_values()
    {
        string dir = TestTemp.Dir("plotread");
        File.WriteAllLines(Path.Combine(dir, "metrics.jsonl"),
        [
            """{"step": 1, "loss": 0.69, "rewards/margins": 0.0}""",
            """{"step": 2, "loss": null, "rewards/margins": 0.5}""",
            """{"step": 2, "eval_loss": 0.6}""",
            """{"step": 3, "loss": 0.5""",
        ]);
        var series = LossPlot.Read(Path.Combine(dir, "metrics.jsonl"));
        Assert.Equal([(1.0, 0.69)], series["loss"]);
        Assert.Equal([(1.0, 0.0), (2.0, 0.5)], series["rewards/margins"]);
        Assert.Equal([(2.0, 0.6)], series["eval_loss"]);
        Assert.False(series.ContainsKey("step"));
    }
}
