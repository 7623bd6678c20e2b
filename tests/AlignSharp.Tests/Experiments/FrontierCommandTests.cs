using System.Globalization;
using AlignSharp.Cli;
using AlignSharp.Experiments;

namespace AlignSharp.Tests.Experiments;

/// <summary>The test-sized frontier experiment, run once through the CLI.</summary>
public sealed class FrontierRunFixture() : ExperimentRunFixture("frontier");

[Collection("Console")]
public sealed class FrontierCommandTests(FrontierRunFixture run) : IClassFixture<FrontierRunFixture>
{
    private static readonly FrontierOptions Preset = FrontierOptions.Test;

    private List<Dictionary<string, string>> CsvRows()
    {
        var lines = File.ReadAllLines(Path.Combine(run.Dir, "frontier.csv"));
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(x => x.First, x => x.Second)).ToList();
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void The_command_succeeds_and_shows_progress()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("base model step", run.Output);
        Assert.Contains("[1/5] dpo β=0.1 step 3/6", run.Output);
        Assert.Contains("[2/5] dpo β=0.5 step 6/6", run.Output);
        Assert.Contains("[3/5] preferred_ft step 6/6", run.Output);
        Assert.Contains("reward model step", run.Output);
        Assert.Contains("[4/5] ppo kl_coef=0.1 step 4/4", run.Output);
        Assert.Contains("[5/5] ppo_gt kl_coef=0.1 step 4/4", run.Output);
    }

    [Fact]
    public void The_png_is_a_real_image()
    {
        var bytes = File.ReadAllBytes(Path.Combine(run.Dir, "frontier.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        // IHDR: width and height, big-endian, at bytes 16..24.
        Assert.Equal(FrontierReport.Width, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
        Assert.Equal(FrontierReport.Height, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
        Assert.True(bytes.Length > 10_000);
    }

    [Fact]
    public void The_csv_has_every_point_with_sane_values()
    {
        var rows = CsvRows();
        int evals = Preset.Steps / Preset.EvalEvery; // steps 3 and 6
        int runs = Preset.Methods.Sum(m => m.Values.Count);
        int rlEvals = Preset.RlSteps / Preset.RlEvalEvery; // rounds 2 and 4
        int rlRuns = Preset.RlMethods.Sum(m => m.KlCoefs.Count);
        Assert.Equal(1 + Preset.BestOfN.Count + runs * (1 + evals) + rlRuns * (1 + rlEvals), rows.Count);
        Assert.All(rows, r => Assert.InRange(D(r["reward"]), -1.0, 1.0));
        Assert.All(rows, r => Assert.True(D(r["reward_se"]) >= 0));
        Assert.All(rows, r => Assert.True(double.IsFinite(D(r["kl"]))));
        Assert.All(rows.Where(r => r["step"] == "0" && r["method"] != "best_of_n"), r => Assert.Equal(0.0, D(r["kl"])));
        var trained = rows.Where(r => r["method"] == "dpo" && r["step"] != "0").ToList();
        Assert.Equal(Preset.Methods.Single(m => m.Id == "dpo").Betas.Count * evals, trained.Count);
        Assert.All(trained, r => Assert.Equal("beta", r["knob"]));
        // Preferred-FT has no swept value: one run, NaN in the value column; the RL baselines sweep kl_coef.
        Assert.All(rows.Where(r => r["method"] == "preferred_ft"), r => Assert.Equal(("", "NaN"), (r["knob"], r["beta"])));
        var rl = rows.Where(r => r["method"] is "ppo" or "ppo_gt").ToList();
        Assert.Equal(rlRuns * (1 + rlEvals), rl.Count);
        Assert.All(rl, r => Assert.Equal(("kl_coef", 0.1), (r["knob"], D(r["beta"]))));
        Assert.All(rl.Where(r => r["step"] != "0"), r => Assert.InRange(D(r["implicit_accuracy"]), 0.0, 1.0));
        Assert.All(trained, r => Assert.InRange(D(r["implicit_accuracy"]), 0.0, 1.0));
        Assert.All(trained, r => Assert.InRange(D(r["loss"]), 0.0, 5.0));
        // Best-of-N: analytic KL log N - (N-1)/N and reward that cannot fall as N grows (same samples, prefix maxima).
        var bon = rows.Where(r => r["method"] == "best_of_n").OrderBy(r => int.Parse(r["n"], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Preset.BestOfN.Order(), bon.Select(r => int.Parse(r["n"], CultureInfo.InvariantCulture)));
        foreach (var r in bon)
        {
            int n = int.Parse(r["n"], CultureInfo.InvariantCulture);
            Assert.Equal(Math.Log(n) - (n - 1.0) / n, D(r["kl"]), 12);
        }
        for (int i = 1; i < bon.Count; i++) Assert.True(D(bon[i]["reward"]) >= D(bon[i - 1]["reward"]));
    }

    [Fact]
    public void The_markdown_and_jsonl_carry_the_same_runs()
    {
        var md = File.ReadAllText(Path.Combine(run.Dir, "frontier.md"));
        Assert.Contains("# Reward vs KL frontier (test preset)", md);
        Assert.Contains("| method | setting | steps | GT reward | KL (nats) | implicit acc. |", md);
        Assert.Contains("| dpo | β=0.1 | 6 |", md);
        Assert.Contains("| dpo | β=0.5 | 6 |", md);
        Assert.Contains("| preferred_ft | – | 6 |", md);
        Assert.Contains("| ppo | kl_coef=0.1 | 4 |", md);
        Assert.Contains("| ppo_gt | kl_coef=0.1 | 4 |", md);
        Assert.Contains("Reward model: held-out accuracy", md);
        Assert.True(File.Exists(Path.Combine(run.Dir, "reward-model", "final", "config.json")));
        Assert.Contains("## Best-of-N sampling from the base model", md);
        var jsonl = File.ReadAllLines(Path.Combine(run.Dir, "frontier.jsonl"));
        Assert.Equal(CsvRows().Count, jsonl.Length);
        Assert.All(jsonl, l => Assert.StartsWith("{\"method\":", l));
        Assert.True(File.Exists(Path.Combine(run.Dir, "data", "train.jsonl")));
        Assert.Empty(Directory.GetFiles(run.Dir, ".tmp-*"));
        Assert.Empty(Directory.GetFileSystemEntries(run.Dir, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Unknown_presets_and_methods_are_one_line_errors()
    {
        var stderr = Console.Error;
        var capture = new StringWriter();
        Console.SetError(capture);
        try
        {
            Assert.Equal(1, CliApp.Run(["experiment", "frontier", "--preset", "huge", "--out", run.Dir]));
            Assert.Equal(1, CliApp.Run(["experiment", "frontier", "--preset", "test", "--methods", "dpo,nope", "--out", run.Dir]));
        }
        finally { Console.SetError(stderr); }
        var lines = capture.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("error: unknown preset 'huge' (known: test, quick, full)", lines[0]);
        Assert.Equal("error: --methods: 'nope' is not in the test preset (it has: dpo, preferred_ft, ppo, ppo_gt)", lines[1]);
    }

    [Fact]
    public void Bad_settings_name_the_setting()
    {
        var e = Assert.Throws<ExperimentException>(() => (FrontierOptions.Test with { Steps = 0 }).Validate());
        Assert.Equal("setting 'steps' must be > 0, got 0", e.Message);
        var m = Assert.Throws<ExperimentException>(() => (FrontierOptions.Test with { Methods = [new("dpo", [])] }).Validate());
        Assert.Equal("method 'dpo' lists no beta", m.Message);
        var rl = Assert.Throws<ExperimentException>(() => (FrontierOptions.Test with { RlMethods = [new("trpo", [0.1])] }).Validate());
        Assert.Equal("unknown RL method 'trpo' (known: ppo, ppo_gt, rloo)", rl.Message);
        var k = Assert.Throws<ExperimentException>(() => (FrontierOptions.Test with { RlPromptsPerStep = 6 }).Validate());
        Assert.Equal("setting 'rl_prompts_per_step' (6) must be a multiple of 'rloo_k' (4)", k.Message);
    }
}
