using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Tests.Training;

namespace AlignSharp.Tests.Distributed;

/// <summary>
/// `mpirun -np 2 alignsharp train` against one process on the same config (global batch 8: 2 ranks x 4 pairs vs
/// 1 x 8), on examples/dpo-tiny.yaml cut to 3 steps with a frozen reference. Tolerance 1e-5 (absolute, losses near
/// 0.6 and weights near 0.1): both runs do the same arithmetic except the order of float32 additions (the weight
/// gradient sums 4 + 4 rows then adds the two ranks, instead of summing 8 rows; matmuls over 4 rows may block
/// differently), which moves float32 results by a few ulps (~1e-7 relative) per step; 3 Adam steps of lr 3e-3 keep
/// that far below 1e-5. Adam's epsilon is 1e-6 for the reason the trainer's accumulation test gives (an exactly-zero
/// gradient's float noise would otherwise be normalised into full-size steps).
/// </summary>
public sealed class DataParallelTrainingTests
{
    private const double Tolerance = 1e-5;

    private static string[] Args(string outputDir, params string[] more) =>
    [
        "train", "--config", Path.Combine(TestSetup.RepoRoot, "examples", "dpo-tiny.yaml"),
        "--set", $"data.train={Path.Combine(TestSetup.RepoRoot, "examples", "tiny-pairs.jsonl")}",
        "--set", "training.max_steps=3", "--set", "training.logging_steps=1", "--set", "training.save_steps=2",
        "--set", "training.warmup_steps=0", "--set", "training.adam_epsilon=1e-6", "--set", "training.threads=1",
        "--set", "reference=frozen", "--set", $"output_dir={outputDir}", .. more,
    ];

    [MpiFact]
    public void Two_ranks_match_one_process_checkpoint_once_and_resume_with_one_rank()
    {
        var timeout = TimeSpan.FromMinutes(4);
        string single = TinyRun.TempDir(), parallel = TinyRun.TempDir();
        var one = MpiRun.Single(Args(single), timeout);
        Assert.True(one.ExitCode == 0, one.Output);
        var two = MpiRun.Cli(2, Args(parallel), timeout);
        Assert.True(two.ExitCode == 0, two.Output);

        var (a, b) = (Metrics(single), Metrics(parallel));
        Assert.Equal(a.Count, b.Count); // rank 1 wrote no lines of its own
        for (int i = 0; i < a.Count; i++)
            foreach (var key in new[] { "loss", "eval_loss", "rewards/margins", "grad_norm" })
                if (a[i].ContainsKey(key))
                    Assert.True(Math.Abs(Number(a[i], key) - Number(b[i], key)) < Tolerance,
                        $"line {i + 1} {key}: {Number(a[i], key)} vs {Number(b[i], key)}");
        AssertSameWeights(Path.Combine(single, "final"), Path.Combine(parallel, "final"));
        // Checkpoints written once, by rank 0: steps 2 and 3, no temporary folders of another rank left behind.
        Assert.Equal(["checkpoint-2", "checkpoint-3"],
            Directory.GetDirectories(parallel).Select(Path.GetFileName).Where(n => n!.Contains("checkpoint")).Order());

        // Resume the 2-rank run's step-2 checkpoint in one process (same global batch): the same final weights.
        string resumed = TinyRun.TempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(parallel, "checkpoint-2")))
        {
            Directory.CreateDirectory(Path.Combine(resumed, "checkpoint-2"));
            File.Copy(f, Path.Combine(resumed, "checkpoint-2", Path.GetFileName(f)));
        }
        var r = MpiRun.Single(Args(resumed, "--resume", Path.Combine(resumed, "checkpoint-2")), timeout);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("resumed from", r.Output);
        AssertSameWeights(Path.Combine(parallel, "final"), Path.Combine(resumed, "final"));
    }

    [MpiFact]
    public void A_partial_global_batch_splits_across_ranks_even_when_a_rank_gets_no_rows()
    {
        // Global batch = training pairs - 1: each epoch is one full batch and a single pair (2 rows), so one of 3 ranks
        // has no rows in it and only runs the zero-weighted row that keeps its backward complete. 3 steps cross it.
        var timeout = TimeSpan.FromMinutes(4);
        string probe = TinyRun.TempDir();
        var check = MpiRun.Single(["validate", .. Args(probe).Skip(1)], timeout);
        Assert.True(check.ExitCode == 0, check.Output);
        int pairs = int.Parse(System.Text.RegularExpressions.Regex.Match(check.Output, @"batches: (\d+) pairs").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        string[] more = ["--set", $"training.batch_size={pairs - 1}", "--set", "training.eval_steps=0"];
        string single = TinyRun.TempDir(), parallel = TinyRun.TempDir();
        var one = MpiRun.Single(Args(single, more), timeout);
        Assert.True(one.ExitCode == 0, one.Output);
        Assert.Contains($"(the last holds 1)", one.Output);
        var three = MpiRun.Cli(3, Args(parallel, more), timeout);
        Assert.True(three.ExitCode == 0, three.Output);
        var (a, b) = (Metrics(single), Metrics(parallel));
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
            foreach (var key in new[] { "loss", "eval_loss", "rewards/margins", "grad_norm" })
                if (a[i].ContainsKey(key))
                    Assert.True(Math.Abs(Number(a[i], key) - Number(b[i], key)) < Tolerance,
                        $"line {i + 1} {key}: {Number(a[i], key)} vs {Number(b[i], key)}");
        AssertSameWeights(Path.Combine(single, "final"), Path.Combine(parallel, "final"));
    }

    private static List<JsonObject> Metrics(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static double Number(JsonObject o, string key) => o[key]!.GetValue<double>();

    private static void AssertSameWeights(string expectedDir, string actualDir)
    {
        using var expected = HfCheckpoint.Load(expectedDir).Model;
        using var actual = HfCheckpoint.Load(actualDir).Model;
        foreach (var ((name, pa), (_, pb)) in expected.named_parameters().Zip(actual.named_parameters()))
        {
            double diff = (pa - pb).abs().max().item<float>();
            Assert.True(diff < Tolerance, $"{name} differs by {diff}");
        }
    }
}
