using AlignSharp.Tests.Reliability;

namespace AlignSharp.Tests.Online;

/// <summary>
/// Real interruptions of <c>alignsharp online</c> in a child process: SIGKILL (a crash point, as the OOM killer or a
/// power cut would) in the middle of iteration 2, then the same command again; the loop must resume after the last
/// complete iteration and end with the pairs, policy weights, reference weights and optimizer state of a run never
/// stopped, byte for byte.
/// </summary>
[Collection("ChildProcesses")]
public sealed class OnlineInterruptionTests
{
    // Soft reference sync and replay put state in the reference weights and in earlier iterations' pairs.
    private const string Steps = "reference: {update: soft_sync, every: 1, alpha: 0.5}\nreplay: 0.5";

    private static readonly Lazy<string> Uninterrupted = new(() =>
    {
        string dir = Path.Combine(TestTemp.Dir("online-whole"), "run");
        var run = Online(dir);
        Assert.True(run.ExitCode == 0, $"uninterrupted online run failed:\n{run.Stdout}\n{run.Stderr}");
        return dir;
    });

    private static CliRun Online(string outputDir, string? crashAt = null)
    {
        string config = TestTemp.File("online.yaml");
        File.WriteAllText(config, OnlineFixtures.TinyYaml(outputDir, Steps));
        var env = new Dictionary<string, string>();
        if (crashAt is not null) env["ALIGNSHARP_CRASH_AT"] = crashAt;
        return CliProcess.Run(["online", "--config", config], env);
    }

    [Theory]
    [InlineData("iteration-2/scored")]          // mid-iteration: sampled and scored, nothing trained or written
    [InlineData("iteration-2/policy-written")]  // inside the iteration's temporary folder
    [InlineData("iteration-2/saved")]           // the iteration is complete; metrics.jsonl not yet rewritten
    public void A_sigkilled_loop_rerun_equals_the_loop_never_stopped(string crashAt)
    {
        string whole = Uninterrupted.Value;
        string dir = Path.Combine(TestTemp.Dir("online-killed"), "run");
        var killed = Online(dir, crashAt);
        Assert.True(killed.ExitCode == 137, $"expected SIGKILL at {crashAt}, got exit {killed.ExitCode}:\n{killed.Stdout}\n{killed.Stderr}");
        string[] expectedDone = crashAt.EndsWith("/saved") ? ["iteration-0001", "iteration-0002"] : ["iteration-0001"];
        Assert.Equal(expectedDone, OnlineLoopTests.Iterations(dir));
        Assert.False(Directory.Exists(Path.Combine(dir, "final")));

        var resumed = Online(dir);
        Assert.True(resumed.ExitCode == 0, $"the rerun failed:\n{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Contains($"resuming after iteration {expectedDone.Length} of 3", resumed.Stdout + resumed.Stderr);
        Assert.Equal(OnlineLoopTests.Iterations(whole), OnlineLoopTests.Iterations(dir));
        Assert.Empty(Directory.GetDirectories(dir, ".*")); // no temporary folder left behind
        foreach (string it in OnlineLoopTests.Iterations(whole))
        {
            Assert.Equal(File.ReadAllText(Path.Combine(whole, it, "pairs.jsonl")), File.ReadAllText(Path.Combine(dir, it, "pairs.jsonl")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, it, "optimizer.bin")), File.ReadAllBytes(Path.Combine(dir, it, "optimizer.bin")));
            OnlineLoopTests.AssertSameWeights(Path.Combine(whole, it, "reference"), Path.Combine(dir, it, "reference"));
        }
        OnlineLoopTests.AssertSameWeights(Path.Combine(whole, "final"), Path.Combine(dir, "final"));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length); // one line per iteration, none twice
    }
}
