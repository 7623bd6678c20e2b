namespace AlignSharp.Tests.Reliability;

/// <summary>
/// Partial batches (kept by default, as TRL's data loader keeps them) with gradient accumulation, across epoch ends,
/// through a SIGKILL and <c>--resume latest</c>: the resumed run equals the uninterrupted one file for file.
/// 16 pairs at batch 5 make batches of 5, 5, 5 and 1 per epoch; 2 micro-batches per step, so steps straddle epochs
/// and some end on the single-pair batch.
/// </summary>
[Collection("ChildProcesses")]
public sealed class PartialBatchTests
{
    private static readonly string[] Sets =
        ["--set", "training.batch_size=5", "--set", "training.gradient_accumulation_steps=2"];

    [Fact]
    public void Partial_batches_with_accumulation_resume_exactly_after_a_kill()
    {
        var baseline = CliTrainRun.Create("dpo");
        var full = baseline.Train(Sets);
        Assert.True(full.ExitCode == 0, $"{full.Stdout}\n{full.Stderr}");
        Assert.Contains("batches: 16 pairs per epoch, 4 batches of 5 per epoch (the last holds 1)", full.Stdout);
        Assert.Equal(CliTrainRun.MaxSteps, baseline.MetricsLines.Length);

        const int killAt = 4; // its micro-batches are the last two of epoch 1: 5 pairs and the single one
        var run = CliTrainRun.Create("dpo");
        var killed = run.Train(Sets, new Dictionary<string, string> { ["ALIGNSHARP_CRASH_AT"] = $"step-{killAt}/update" });
        Assert.True(killed.ExitCode == 137, $"expected a SIGKILL at step {killAt}, got {killed.ExitCode}:\n{killed.Stderr}");
        var resumed = run.Train([.. Sets, "--resume", "latest"]);
        Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Contains($"at step {killAt - 1}", resumed.Stdout);

        CliTrainRun.AssertSameFiles(Path.Combine(baseline.Output, $"checkpoint-{CliTrainRun.MaxSteps}"),
            Path.Combine(run.Output, $"checkpoint-{CliTrainRun.MaxSteps}"));
        CliTrainRun.AssertSameFiles(Path.Combine(baseline.Output, "final"), Path.Combine(run.Output, "final"));
        Assert.Equal(baseline.MetricsLines.Select(Strip), run.MetricsLines.Select(Strip));
    }

    /// <summary>A metrics line without its wall-clock fields (they differ between runs).</summary>
    private static string Strip(string line)
    {
        var o = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
        foreach (var key in o.Select(kv => kv.Key).Where(k => k.Contains("time") || k.Contains("per_second")).ToList())
            o.Remove(key);
        return o.ToJsonString();
    }
}
