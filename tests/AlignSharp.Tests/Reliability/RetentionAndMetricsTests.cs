using System.Text.Json;
using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Reliability;

/// <summary>save_total_limit keeps the newest checkpoints and never the one "latest" names; metrics.jsonl is JSON.</summary>
[Collection("TorchGlobalSeed")]
public sealed class RetentionAndMetricsTests
{
    private static TrainingOptions Options(int steps, int saveSteps, int limit) => new()
    {
        MaxSteps = steps, BatchSize = 4, LearningRate = 1e-2, Seed = 7, SaveSteps = saveSteps, SaveTotalLimit = limit,
    };

    private static string[] Checkpoints(string dir) =>
        [.. Directory.GetDirectories(dir, "checkpoint-*").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public void Save_total_limit_keeps_the_newest_n()
    {
        string dir = TinyRun.TempDir();
        new PreferenceTrainer(TinyRun.Setup(TinyRun.Pairs(8)), Options(5, 1, 2), dir, new RecordingObserver()).Run();
        Assert.Equal(["checkpoint-4", "checkpoint-5"], Checkpoints(dir));
        Assert.EndsWith("checkpoint-5", TrainingCheckpoint.Resolve(dir, "latest"));
        Assert.Empty(Directory.GetDirectories(dir, ".checkpoint-*")); // no temporary folder left behind
    }

    [Fact]
    public void Save_total_limit_never_deletes_the_latest_checkpoint()
    {
        // A run saved checkpoints 2, 4 and 6; the user resumes from checkpoint-2 and saves checkpoint-3. Counting by
        // step number alone, 6 and 4 are "newest" and 3, the checkpoint just written and named by latest, would go.
        string dir = TinyRun.TempDir();
        var pairs = TinyRun.Pairs(8);
        new PreferenceTrainer(TinyRun.Setup(pairs), Options(6, 2, 0), dir, new RecordingObserver()).Run();
        Assert.Equal(["checkpoint-2", "checkpoint-4", "checkpoint-6"], Checkpoints(dir));
        new PreferenceTrainer(TinyRun.Setup(pairs), Options(3, 1, 2), dir, new RecordingObserver())
            .Run(Path.Combine(dir, "checkpoint-2"));
        string latest = TrainingCheckpoint.Resolve(dir, "latest");
        Assert.EndsWith("checkpoint-3", latest);
        Assert.Equal(2, Checkpoints(dir).Length);
        Assert.Contains("checkpoint-3", Checkpoints(dir));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("quote\"inside")]
    [InlineData("back\\slash")]
    [InlineData("new\nline")]
    [InlineData("tab\tand\u0001control")]
    [InlineData("ünïcødé/键")]
    [InlineData("")]
    public void Metrics_lines_are_valid_json_for_any_metric_name(string name)
    {
        string path = Path.Combine(TinyRun.TempDir(), "metrics.jsonl");
        var first = new Dictionary<string, double> { [name] = 0.1, ["step"] = 1 };
        var second = new Dictionary<string, double> { [name] = double.NaN, ["inf"] = double.PositiveInfinity, ["step"] = 2 };
        MetricsLog.Append(path, first);
        MetricsLog.Append(path, second);
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        using var a = JsonDocument.Parse(lines[0]);
        Assert.Equal(0.1, a.RootElement.GetProperty(name).GetDouble()); // round-trip format: the same double
        Assert.Equal(1, a.RootElement.GetProperty("step").GetInt32());
        using var b = JsonDocument.Parse(lines[1]);
        Assert.Equal(JsonValueKind.Null, b.RootElement.GetProperty(name).ValueKind); // JSON has no NaN
        Assert.Equal(JsonValueKind.Null, b.RootElement.GetProperty("inf").ValueKind);
    }
}
