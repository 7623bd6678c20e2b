using System.Globalization;
using AlignSharp.Cli;
using AlignSharp.Experiments;

namespace AlignSharp.Tests.Experiments;

/// <summary>The test-sized online experiment, run once through the CLI.</summary>
public sealed class OnlineExperimentRunFixture() : ExperimentRunFixture("online");

[Collection("Console")]
public sealed class OnlineExperimentCommandTests(OnlineExperimentRunFixture run) : IClassFixture<OnlineExperimentRunFixture>
{
    private static readonly OnlineExperimentOptions Preset = OnlineExperimentOptions.Test;

    private List<Dictionary<string, string>> CsvRows()
    {
        var lines = File.ReadAllLines(Path.Combine(run.Dir, "online.csv"));
        var header = lines[0].Split(',');
        return [.. lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(x => x.First, x => x.Second))];
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    private static int N(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void The_command_succeeds_and_shows_progress_per_method()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("reference (base) model: ground-truth reward", run.Output);
        foreach (var m in Preset.Methods) Assert.Contains($"] {m} after {Preset.Labels} labels", run.Output);
    }

    [Fact]
    public void Both_pictures_are_real_images()
    {
        foreach (var name in new[] { "online.png", "online-kl.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(run.Dir, name));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            Assert.Equal(1000, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]); // IHDR width
            Assert.True(bytes.Length > 10_000);
        }
    }

    [Fact]
    public void The_csv_has_one_point_per_round_at_equal_labels()
    {
        var rows = CsvRows();
        int rounds = Preset.Iterations, perRound = Preset.LabelsPerIteration;
        // The reference, each labelled method once per round, DICE once per unlabelled round.
        Assert.Equal(1 + 4 * rounds + Preset.DiceIterations, rows.Count);
        Assert.Equal("reference", rows[0]["method"]);
        Assert.Equal(0.0, D(rows[0]["kl"]));
        foreach (var m in new[] { "offline_dpo", "online_dpo", "iterative_dpo", "sppo" })
        {
            var mine = rows.Where(r => r["method"] == m).ToList();
            Assert.Equal(Enumerable.Range(1, rounds).Select(k => k * perRound), mine.Select(r => N(r["labels"])));
            Assert.All(mine, r => Assert.True(N(r["steps"]) > 0 && N(r["pairs"]) > 0));
        }
        // With two samples per prompt a label is at most one pair (ties make none); SPPO spends six labels a prompt.
        foreach (var r in rows.Where(r => r["method"] is "offline_dpo" or "online_dpo" or "iterative_dpo"))
            Assert.InRange(N(r["pairs"]), 1, N(r["labels"]));
        foreach (var r in rows.Where(r => r["method"] == "sppo"))
            Assert.InRange(N(r["pairs"]), 1, N(r["labels"]) / 6);
        // OAIF makes one optimizer step per batch of fresh prompts.
        Assert.Equal(Preset.Labels / Preset.Batch, N(rows.Last(r => r["method"] == "online_dpo")["steps"]));
        // DICE adds no labels to offline DPO's.
        Assert.All(rows.Where(r => r["method"] == "dice"), r => Assert.Equal(Preset.Labels, N(r["labels"])));
        Assert.All(rows, r => Assert.InRange(D(r["reward"]), -1.0, 1.0));
        Assert.All(rows.Skip(1), r => Assert.True(D(r["kl"]) > 0, $"{r["method"]} did not move"));
    }

    [Fact]
    public void Every_method_ends_above_the_reference_in_ground_truth_reward()
    {
        var rows = CsvRows();
        double reference = D(rows[0]["reward"]);
        foreach (var m in Preset.Methods)
            Assert.True(D(rows.Last(r => r["method"] == m)["reward"]) > reference, $"{m} is not above the reference");
    }

    [Fact]
    public void The_markdown_tables_carry_every_method()
    {
        var md = File.ReadAllText(Path.Combine(run.Dir, "online.md"));
        Assert.Contains("# Online vs offline preference optimization at equal labels (test preset)", md);
        Assert.Contains($"| method | {Preset.LabelsPerIteration} labels | {Preset.Labels} labels |", md);
        foreach (var m in Preset.Methods) Assert.Contains($"| {m} | ", md);
        Assert.Empty(Directory.GetFileSystemEntries(run.Dir, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Bad_presets_and_methods_are_one_line_errors()
    {
        var stderr = Console.Error;
        var capture = new StringWriter();
        Console.SetError(capture);
        try
        {
            Assert.Equal(1, CliApp.Run(["experiment", "online", "--preset", "huge", "--out", run.Dir]));
            Assert.Equal(1, CliApp.Run(["experiment", "online", "--preset", "test", "--methods", "dpo", "--out", run.Dir]));
            Assert.Equal(1, CliApp.Run(["experiment", "online", "--preset", "test", "--methods", "dice", "--out", run.Dir]));
        }
        finally { Console.SetError(stderr); }
        var lines = capture.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("error: unknown preset 'huge' (known: test, quick)", lines[0]);
        Assert.StartsWith("error: unknown method 'dpo' (known: offline_dpo, online_dpo,", lines[1]);
        Assert.Equal("error: method 'dice' starts from offline_dpo's policy: keep offline_dpo in the methods", lines[2]);
    }

    [Fact]
    public void Labels_that_do_not_split_into_rounds_name_the_setting()
    {
        var e = Assert.Throws<ExperimentException>(() => (Preset with { Labels = 100 }).Validate());
        Assert.StartsWith("setting 'labels' (100) must split into 2 rounds", e.Message);
    }
}
