using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AlignSharp.Cli;
using AlignSharp.Config;
using AlignSharp.Data.Batching;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// <c>alignsharp validate</c>, <c>train --print-config</c> and the checks <c>train</c> runs first, through the CLI
/// in this process: each bad value is one line on stderr and exit 1 (no stack trace), before anything is trained.
/// </summary>
[Collection("Console")]
public sealed partial class ValidateCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    /// <summary>A folder with <paramref name="pairs"/> pairs and a config training a fresh byte-level model on them.</summary>
    private static (string Config, string Output) Setup(int pairs, string training = "batch_size: 8")
    {
        string dir = TestTemp.Dir("validate");
        string data = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, pairs).Select(i => new JsonObject
        {
            ["prompt"] = $"q{i}:", ["chosen"] = $"good {i}", ["rejected"] = $"bad {i}",
        }.ToJsonString()));
        string output = Path.Combine(dir, "out");
        string config = Path.Combine(dir, "run.yaml");
        File.WriteAllText(config, $"""
            model: {"{"}hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 64{"}"}
            tokenizer: byte
            data:
              train: {data}
              max_length: 32
            training:
              {training}
              max_steps: 1
              threads: 1
            output_dir: {output}
            """);
        return (config, output);
    }

    private static void AssertOneLine(string err, string expected)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, err);
        Assert.Equal("error: " + expected, lines[0].TrimEnd());
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Validate_prints_records_pairs_batches_and_keeps_the_last_partial_batch()
    {
        var (config, output) = Setup(12);
        var (code, stdout, err) = Run("validate", "--config", config);
        Assert.True(code == 0, err);
        Assert.Contains("12 records, 12 used, 0 reported; 12 pairs", stdout);
        // 12 pairs at batch 8: two batches per epoch, the last one partial (TRL's default); nothing dropped.
        Assert.Contains("batches: 12 pairs per epoch, 2 batches of 8 per epoch (the last holds 4)", stdout);
        Assert.Contains($"output_dir: {output} (writable)", stdout);
        Assert.StartsWith("ok: run.yaml is ready to train", stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Empty(Directory.GetFiles(output)); // the write probe is gone, nothing else written

        var dropped = Run("validate", "--config", config, "--set", "training.drop_last=true");
        Assert.True(dropped.Code == 0, dropped.Err);
        Assert.Contains("batches: 12 pairs per epoch, 1 batch of 8 per epoch (4 pairs dropped per epoch: drop_last)",
            dropped.Out);
    }

    [Fact]
    public void A_batch_larger_than_the_data_is_one_partial_batch_or_with_drop_last_an_error_with_counts()
    {
        var (config, _) = Setup(5, "batch_size: 16");
        var (code, stdout, err) = Run("validate", "--config", config);
        Assert.True(code == 0, err);
        Assert.Contains("batches: 5 pairs per epoch, 1 batch of 16 per epoch (the last holds 5: batch_size is larger " +
            "than the data)", stdout);
        var dropped = Run("validate", "--config", config, "--set", "training.drop_last=true");
        Assert.Equal(1, dropped.Code);
        AssertOneLine(dropped.Err, $"{config}:7: the 5 training pairs make no full batch of training.batch_size 16 with " +
            "training.drop_last: true; lower batch_size, add data or set drop_last: false");
    }

    [Theory]
    [InlineData("training.batch_size=0", "'training.batch_size' must be >= 1, got 0")]
    [InlineData("training.learning_rate=-1e-5", "'training.learning_rate' must be > 0, got -1e-5 (a negative rate " +
        "would train towards the rejected completions)")]
    [InlineData("training.warmup_ratio=-0.5", "'training.warmup_ratio' must be in [0, 1], got -0.5")]
    [InlineData("training.max_steps=-5", "'training.max_steps' must be >= -1, got -5 (0 or -1: as many steps as " +
        "training.epochs take)")]
    public void Train_and_validate_refuse_a_bad_value_in_one_line_before_any_work(string set, string message)
    {
        var (config, output) = Setup(12);
        foreach (var command in new[] { "train", "validate" })
        {
            var (code, _, err) = Run(command, "--config", config, "--set", set);
            Assert.Equal(1, code);
            AssertOneLine(err, $"--set {set}: {message}");
        }
        Assert.False(Directory.Exists(output)); // refused before the output folder was made
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_read_only_output_folder_is_one_line_before_training()
    {
        var (config, output) = Setup(12);
        Directory.CreateDirectory(output);
        File.SetUnixFileMode(output, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            // Root writes into read-only folders anyway; /sys refuses new entries even to root.
            string target = CanWrite(output) ? "/sys/alignsharp-read-only-test" : output;
            var (code, stdout, err) = Run("train", "--config", config, "--set", $"output_dir={target}");
            Assert.Equal(1, code);
            Assert.Matches(ReadOnlyLine(), err.Trim());
            Assert.StartsWith($"error: --set output_dir={target}: output_dir {target} is not writable (", err);
            Assert.DoesNotContain("   at ", err);
            Assert.DoesNotContain("training", stdout);
        }
        finally
        {
            File.SetUnixFileMode(output, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        // A file where a folder should be: the same one line.
        string file = Path.Combine(Path.GetDirectoryName(output)!, "pairs.jsonl");
        var blocked = Run("validate", "--config", config, "--set", $"output_dir={file}/out");
        Assert.Equal(1, blocked.Code);
        Assert.StartsWith($"error: --set output_dir={file}/out: output_dir {file}/out is not writable (", blocked.Err);
        Assert.Single(blocked.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Print_config_prints_yaml_that_loads_back_and_train_help_names_it_and_validate()
    {
        var (config, _) = Setup(12);
        var (code, stdout, err) = Run("train", "--print-config", "--config", config, "--set", "training.seed=7");
        Assert.True(code == 0, err);
        var printed = RunConfig.FromTree(ConfigTree.Parse(stdout, "printed"));
        Assert.Equal(AlignSharp.Runs.RunFolder.Flatten(RunConfig.Load(config, ["training.seed=7"])),
            AlignSharp.Runs.RunFolder.Flatten(printed));
        Assert.Contains("  drop_last: false\n", stdout);

        var defaults = Run("train", "--print-config");
        Assert.True(defaults.Code == 0, defaults.Err);
        Assert.Equal(AlignSharp.Runs.RunFolder.Flatten(new RunConfig()),
            AlignSharp.Runs.RunFolder.Flatten(RunConfig.FromTree(ConfigTree.Parse(defaults.Out, "printed"))));

        var help = Run("train", "--help");
        Assert.Contains("--print-config", help.Out);
        Assert.Contains("alignsharp validate", help.Out);
        var missing = Run("train");
        Assert.Equal(1, missing.Code);
        Assert.StartsWith("error: --config FILE is required", missing.Err);
    }

    [Fact]
    public void Every_pair_is_trained_on_each_epoch_with_the_last_batch_partial()
    {
        // 12 pairs at batch 8 (TRL users' example): two batches per epoch, 8 and 4, covering every pair once.
        var planner = new BatchPlanner(Enumerable.Range(0, 12).Select(i => 10 + i % 5).ToList(), 8, seed: 3);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = planner.Epoch(epoch);
            Assert.Equal([4, 8], batches.Select(b => b.Length).Order());
            Assert.Equal(Enumerable.Range(0, 12), batches.SelectMany(b => b).Order());
        }
        var options = new AlignSharp.Training.TrainingOptions { BatchSize = 8, Epochs = 3 };
        Assert.Equal(6, AlignSharp.Training.PreferenceTrainer.StepsFor(options, 12));
        Assert.Equal(3, AlignSharp.Training.PreferenceTrainer.StepsFor(options with { DropLast = true }, 12));
    }

    private static bool CanWrite(string dir)
    {
        try
        {
            string probe = Path.Combine(dir, ".probe");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^error: --set output_dir=\S+: output_dir \S+ is not writable \(.+\)$")]
    private static partial Regex ReadOnlyLine();
}
