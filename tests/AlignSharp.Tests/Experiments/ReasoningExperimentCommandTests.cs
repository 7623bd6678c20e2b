using System.Text.Json.Nodes;
using AlignSharp.Cli;
using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Experiments;
using AlignSharp.Tasks;

namespace AlignSharp.Tests.Experiments;

/// <summary>The test-sized reasoning experiment, run once through the CLI.</summary>
public sealed class ReasoningExperimentRunFixture() : ExperimentRunFixture("reasoning");

[Collection("Console")]
public sealed class ReasoningExperimentCommandTests(ReasoningExperimentRunFixture run)
    : IClassFixture<ReasoningExperimentRunFixture>
{
    private static readonly ReasoningOptions Preset = ReasoningOptions.Test;

    private JsonObject Json() => JsonNode.Parse(File.ReadAllText(Path.Combine(run.Dir, "reasoning.json")))!.AsObject();

    private string Data(string method) => Path.Combine(run.Dir, "data", "replicate-0", $"{method}.jsonl");

    [Fact]
    public void The_command_succeeds_and_reports_the_base_and_every_method()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("] base: greedy final", run.Output);
        foreach (var m in ReasoningOptions.AllMethods) Assert.Contains($"] {m} replicate 0 (", run.Output);
        Assert.Contains("# Whole-solution DPO vs Step-DPO vs SCDPO on arithmetic (test preset)", run.Output);
    }

    [Fact]
    public void Every_written_pair_loads_in_its_format_and_is_checked_right_against_wrong()
    {
        Assert.Equal(DataFormat.Explicit, PreferenceDataLoader.Load(Data("dpo")).Format);
        foreach (var method in new[] { "step_dpo", "scdpo" })
        {
            var loaded = PreferenceDataLoader.Load(Data(method));
            Assert.Equal(DataFormat.Steps, loaded.Format);
            Assert.Equal(loaded.Report.RecordsRead, loaded.Pairs.Count); // nothing rejected
            foreach (var pair in loaded.Pairs)
            {
                // The prompt is the problem, then the shared correct steps.
                int q = pair.Prompt.IndexOf('?');
                var problem = ArithmeticProblem.Parse(pair.Prompt[..(q + 1)])!;
                string prefix = pair.Prompt[(q + 1)..];
                int step = ArithmeticSteps.Split(prefix).Count;
                Assert.Equal(string.Concat(ArithmeticSteps.Correct(problem).Take(step)), prefix);
                Assert.True(ArithmeticSteps.IsRight(problem, prefix + ArithmeticSteps.Split(pair.Chosen)[0], step));
                Assert.True(ArithmeticSteps.IsWrong(problem, prefix + ArithmeticSteps.Split(pair.Rejected)[0], step));
                if (method == "step_dpo") Assert.Single(ArithmeticSteps.Split(pair.Chosen)); // one step only
                else Assert.Equal(problem.Solution, prefix + pair.Chosen); // the correct rest
            }
        }
    }

    [Fact]
    public void The_json_table_has_the_base_and_each_method_with_pair_counts_and_scores_in_range()
    {
        var json = Json();
        Assert.Equal("test", (string)json["preset"]!);
        var summary = json["summary"]!.AsArray();
        Assert.Equal(["base", .. ReasoningOptions.AllMethods], summary.Select(s => (string)s!["method"]!));
        var runs = json["runs"]!.AsArray();
        Assert.Equal(1 + ReasoningOptions.AllMethods.Count * Preset.Seeds, runs.Count);
        foreach (var method in ReasoningOptions.AllMethods)
        {
            var row = runs.Single(r => (string)r!["method"]! == method)!;
            Assert.Equal(File.ReadAllLines(Data(method)).Length, (int)row["pairs"]!);
            // Training moved the implicit reward margin the right way: the loss is below its start, ln 2.
            Assert.True((double)row["loss"]! < Math.Log(2), $"{method} loss {(double)row["loss"]!}");
        }
        // SCDPO's pairs are the whole-solution ones plus step-controlled ones.
        Assert.True(File.ReadAllLines(Data("scdpo")).Length > File.ReadAllLines(Data("dpo")).Length);
        foreach (var r in runs)
            foreach (var mode in new[] { "greedy", "sampled" })
                foreach (var metric in new[] { "final", "steps", "full" })
                    Assert.InRange((double)r![mode]![metric]!["mean"]!, 0.0, 1.0);
        // One replicate: the summary is that run's scores, errors over the held-out problems.
        var dpo = summary.Single(s => (string)s!["method"]! == "dpo")!;
        var dpoRun = runs.Single(r => (string)r!["method"]! == "dpo")!;
        Assert.Equal((double)dpoRun["greedy"]!["final"]!["mean"]!, (double)dpo["greedy_final"]!["mean"]!);
        Assert.Equal(Preset.EvalProblems, (int)dpo["greedy_final"]!["n"]!);
        Assert.Equal(Preset.EvalProblems * Preset.EvalSamples, (int)dpo["sampled_final"]!["n"]!);
    }

    [Fact]
    public void The_pictures_are_real_images_and_the_markdown_carries_every_model()
    {
        foreach (var (name, width) in new[] { ("reasoning.png", 1000), ("token-rewards.png", 1400) })
        {
            var bytes = File.ReadAllBytes(Path.Combine(run.Dir, name));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            Assert.Equal(width, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]); // IHDR width
        }
        var md = File.ReadAllText(Path.Combine(run.Dir, "reasoning.md"));
        Assert.Contains("| model | pairs | final answer (greedy) | per-step (greedy) |", md);
        foreach (var m in ReasoningOptions.AllMethods.Prepend("base")) Assert.Contains($"| {m} | ", md);
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
            Assert.Equal(1, CliApp.Run(["experiment", "reasoning", "--preset", "huge", "--out", run.Dir]));
            Assert.Equal(1, CliApp.Run(["experiment", "reasoning", "--preset", "test", "--methods", "ipo", "--out", run.Dir]));
        }
        finally { Console.SetError(stderr); }
        var lines = capture.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("error: unknown preset 'huge' (known: test, quick)", lines[0]);
        Assert.Equal("error: unknown method 'ipo' (known: dpo, step_dpo, scdpo)", lines[1]);
    }
}
