using System.Diagnostics;
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
/// gradient's float noise would otherwise be normalised into full-size steps). The same tolerance holds for resumes
/// across rank counts (1 -> 2 and 2 -> 1 ranks): the resumed steps differ from the uninterrupted ones by summation
/// order only.
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
    public void Two_ranks_match_one_process_checkpoint_once_and_resume_across_rank_counts()
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
        string resumed = CopyCheckpoint(parallel, "checkpoint-2");
        var r = MpiRun.Single(Args(resumed, "--resume", Path.Combine(resumed, "checkpoint-2")), timeout);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("resumed from", r.Output);
        AssertSameWeights(Path.Combine(parallel, "final"), Path.Combine(resumed, "final"));

        // And the one-process run's step-2 checkpoint resumed on 2 ranks: the one-process final weights.
        string widened = CopyCheckpoint(single, "checkpoint-2");
        var w = MpiRun.Cli(2, Args(widened, "--resume", Path.Combine(widened, "checkpoint-2")), timeout);
        Assert.True(w.ExitCode == 0, w.Output);
        Assert.Contains("resumed from", w.Output);
        AssertSameWeights(Path.Combine(single, "final"), Path.Combine(widened, "final"));
    }

    [MpiFact]
    public void Two_ranks_compute_the_reference_cache_one_process_computes()
    {
        // The default cached reference, one step: the cache is filled before training, by one process over every row
        // and by 2 ranks over their shares of each batch (gathered, then written by rank 0). Same rows, same values up
        // to float32 summation order: each rank pads its share to the share's longest row, so matmuls may block
        // differently; 1e-5 relative to the sums (about -100 here) is a few float32 ulps of each token's log-prob.
        var timeout = TimeSpan.FromMinutes(4);
        string oneCache = TinyRun.TempDir(), twoCache = TinyRun.TempDir();
        string[] Cached(string dir) => [.. Args(dir), "--set", "reference=cached", "--set", "training.max_steps=1"];
        var one = MpiRun.Single(Cached(TinyRun.TempDir()), timeout, new Dictionary<string, string>
        {
            ["ALIGNSHARP_CACHE"] = oneCache,
        });
        Assert.True(one.ExitCode == 0, one.Output);
        var two = MpiRun.Cli(2, Cached(TinyRun.TempDir()), timeout, environment: new Dictionary<string, string>
        {
            ["ALIGNSHARP_CACHE"] = twoCache,
        });
        Assert.True(two.ExitCode == 0, two.Output);

        string[] Files(string cache) =>
            [.. Directory.GetFiles(Path.Combine(cache, "reference-logps")).Select(Path.GetFileName).Order()!];
        Assert.Equal(Files(oneCache), Files(twoCache)); // same weights hash, and no temporary file of a second writer
        string file = Assert.Single(Files(oneCache), f => f.StartsWith("reflogps-", StringComparison.Ordinal));
        var expected = ReadCache(Path.Combine(oneCache, "reference-logps", file));
        var actual = ReadCache(Path.Combine(twoCache, "reference-logps", file));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, value) in expected)
            Assert.True(Math.Abs(value - actual[key]) <= 1e-5 * Math.Max(1, Math.Abs(value)),
                $"row {key:x}: {value} vs {actual[key]}");
    }

    [MpiFact]
    public void Killing_one_rank_ends_the_job_with_an_error_instead_of_hanging()
    {
        // A long run with a checkpoint every step; once the first checkpoint exists (both ranks are in the step loop),
        // rank 1 is killed with SIGKILL. Rank 0 then waits in a collective that can never complete: mpirun must notice
        // the dead rank, end the job and say which rank died. The timeout only catches a hang.
        string dir = TinyRun.TempDir();
        var run = MpiRun.Cli(2, Args(dir, "--set", "training.max_steps=100000", "--set", "training.save_steps=1"),
            TimeSpan.FromMinutes(3), onStarted: launcher =>
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                while (!Directory.Exists(Path.Combine(dir, "checkpoint-1")) && DateTime.UtcNow < deadline && !launcher.HasExited)
                    Thread.Sleep(50);
                if (RankProcess(launcher.Id, rank: 1) is { } victim) victim.Kill();
            });
        Assert.False(run.TimedOut, "the job hung after a rank was killed:\n" + run.Output);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1", run.Output);
        Assert.Contains("signal 9", run.Output); // Open MPI: "... process rank 1 ... exited on signal 9 (Killed)"
        Assert.False(File.Exists(Path.Combine(dir, "final", "model.safetensors")), "the run did not end early");
    }

    /// <summary>The rank process <paramref name="rank"/> that mpirun <paramref name="launcher"/> started, or null.</summary>
    private static Process? RankProcess(int launcher, int rank)
    {
        foreach (var status in Directory.GetDirectories("/proc").Select(d => Path.Combine(d, "status")))
        {
            try
            {
                if (!File.ReadLines(status).Any(l => l.StartsWith("PPid:", StringComparison.Ordinal)
                        && int.Parse(l[5..].Trim()) == launcher))
                    continue;
                string dir = Path.GetDirectoryName(status)!;
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains($"OMPI_COMM_WORLD_RANK={rank}"))
                    return Process.GetProcessById(int.Parse(Path.GetFileName(dir)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
                or FormatException)
            {
                // a process that ended while being read, or one that is not ours
            }
        }
        return null;
    }

    /// <summary>A new output folder holding a copy of <paramref name="run"/>'s <paramref name="checkpoint"/>.</summary>
    private static string CopyCheckpoint(string run, string checkpoint)
    {
        string dir = TinyRun.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, checkpoint));
        foreach (var f in Directory.GetFiles(Path.Combine(run, checkpoint)))
            File.Copy(f, Path.Combine(dir, checkpoint, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>A reference cache file: int32 rows, then per row a 128-bit key and the float64 sum.</summary>
    private static Dictionary<UInt128, double> ReadCache(string file)
    {
        using var r = new BinaryReader(File.OpenRead(file));
        int n = r.ReadInt32();
        var rows = new Dictionary<UInt128, double>();
        for (int i = 0; i < n; i++) rows[new UInt128(r.ReadUInt64(), r.ReadUInt64())] = r.ReadDouble();
        return rows;
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
