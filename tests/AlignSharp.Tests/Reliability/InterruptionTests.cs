using System.Collections.Concurrent;
using System.Diagnostics;
using AlignSharp.Models;
using AlignSharp.Runs;
using AlignSharp.Models.Families;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// Real interruptions of <c>alignsharp train</c> in a child process: SIGKILL at a seeded random step, SIGKILL inside
/// a checkpoint write, SIGINT/SIGTERM (graceful stop), then <c>--resume latest</c>; the result must equal an
/// uninterrupted run bit for bit
/// (weights, AdamW moments and step counts, generator state, data position, objective state, remaining metrics).
/// Both objectives are stateful: BCO keeps a running reward mean, β-DPO running margin statistics and samples
/// the pairs it keeps from the run's generator.
/// </summary>
[Collection("ChildProcesses")]
public sealed class InterruptionTests
{
    private static readonly ConcurrentDictionary<string, Lazy<CliTrainRun>> Uninterrupted = new();

    /// <summary>The uninterrupted run of <paramref name="objective"/>, trained once per test process.</summary>
    private static CliTrainRun Baseline(string objective) => Uninterrupted.GetOrAdd(objective, o => new(() =>
    {
        var run = CliTrainRun.Create(o);
        var result = run.Train([]);
        Assert.True(result.ExitCode == 0, $"uninterrupted {o} run failed:\n{result.Stdout}\n{result.Stderr}");
        return run;
    })).Value;

    [Theory]
    [InlineData("bco")]
    [InlineData("beta_dpo")]
    public void Sigkill_at_a_random_step_then_resume_latest_equals_the_uninterrupted_run(string objective)
    {
        // A seeded random step and place in it: after a forward, after the update, or after the metrics line. The
        // child kills itself there (crash points): a kill sent from the test on reading the step's progress line
        // lands steps later, or after the run ended, on a loaded machine.
        var baseline = Baseline(objective);
        var rng = new Random(objective.Length * 7919);
        int killAt = rng.Next(2, CliTrainRun.MaxSteps - 1); // 2..MaxSteps-2
        string phase = new[] { "forward", "update", "logged" }[rng.Next(3)];
        var run = CliTrainRun.Create(objective);
        var killed = run.Train([], new Dictionary<string, string> { ["ALIGNSHARP_CRASH_AT"] = $"step-{killAt}/{phase}" });
        Assert.True(killed.ExitCode == 137, $"expected a SIGKILL at step {killAt} ({phase}), got exit {killed.ExitCode}:\n{killed.Stdout}\n{killed.Stderr}");

        string latest = TrainingCheckpoint.Resolve(run.Output, "latest");
        int resumedFrom = CliTrainRun.StepOf(latest);
        Assert.Equal(killAt - 1, resumedFrom); // checkpoints every step: the one before the killed step
        var resumed = run.Train(["--resume", "latest"]);
        Assert.True(resumed.ExitCode == 0, $"resume failed:\n{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Contains($"resumed from {latest} at step {resumedFrom}", resumed.Stdout);

        AssertSameOutcome(baseline, run, resumedFrom);
    }

    [Theory]
    [InlineData("bco", "weights")] // the temporary folder holds weights only
    [InlineData("beta_dpo", "optimizer")] // weights and optimizer moments, no trainer state
    [InlineData("bco", "renamed")] // checkpoint-N complete, but latest not yet updated
    public void Sigkill_during_a_checkpoint_write_keeps_the_previous_checkpoint_latest_and_loadable(string objective, string point)
    {
        var baseline = Baseline(objective);
        const int crashAt = 4;
        var run = CliTrainRun.Create(objective);
        var crashed = run.Train([], new Dictionary<string, string> { ["ALIGNSHARP_CRASH_AT"] = $"checkpoint-{crashAt}/{point}" });
        Assert.True(crashed.ExitCode == 137, $"expected the crash point to kill the run, got exit {crashed.ExitCode}:\n{crashed.Stdout}\n{crashed.Stderr}");

        string latest = TrainingCheckpoint.Resolve(run.Output, "latest");
        Assert.Equal($"checkpoint-{crashAt - 1}", Path.GetFileName(latest));
        // It loads: every weight name and shape, the optimizer moments and the trainer state.
        using (var model = new Gpt2Model(ModelConfig.TinyGpt2(new ByteTokenizer().VocabSize, 16, 1, 2, 64)))
        using (var optimizer = PreferenceTrainer.CreateOptimizer(model, new TrainingOptions()))
            Assert.Equal(crashAt - 1, TrainingCheckpoint.Load(latest, model, optimizer).Step);
        CliTrainRun.AssertSameFiles(Path.Combine(baseline.Output, $"checkpoint-{crashAt - 1}"), latest);

        var resumed = run.Train(["--resume", "latest"]);
        Assert.True(resumed.ExitCode == 0, $"resume failed:\n{resumed.Stdout}\n{resumed.Stderr}");
        AssertSameOutcome(baseline, run, crashAt - 1);
        Assert.Empty(Directory.GetDirectories(run.Output, ".checkpoint-*")); // the torn temporary folder is gone
    }

    [Theory]
    [InlineData("bco", "INT")]
    [InlineData("beta_dpo", "TERM")]
    public void A_signal_stops_at_the_next_step_boundary_with_a_checkpoint_and_exit_130_then_resume_equals(
        string objective, string signal)
    {
        // The child pauses inside step 3 (after its update) until the test has sent the signal and seen the
        // handler's answer, so the signal lands mid-step however loaded the machine is.
        var baseline = Baseline(objective);
        const int signalAt = 3;
        var run = CliTrainRun.Create(objective);
        var stopped = run.Train([], new Dictionary<string, string> { ["ALIGNSHARP_PAUSE_AT"] = $"step-{signalAt}/update" },
            onLine: (process, line) =>
            {
                if (line == $"paused at step-{signalAt}/update")
                {
                    using var kill = Process.Start("kill", $"-{signal} {process.Id}");
                    kill.WaitForExit();
                }
                else if (line.Contains("stopping after the current step", StringComparison.Ordinal))
                {
                    process.StandardInput.WriteLine(); // resume the paused step
                    process.StandardInput.Flush();
                }
            });
        Assert.True(stopped.ExitCode == TrainingStoppedException.ExitCode,
            $"expected exit 130 after SIG{signal}, got {stopped.ExitCode}:\n{stopped.Stdout}\n{stopped.Stderr}");
        Assert.Contains("continue with --resume latest", stopped.Stderr);
        string latest = TrainingCheckpoint.Resolve(run.Output, "latest");
        int at = CliTrainRun.StepOf(latest);
        Assert.Equal(signalAt, at); // the step in progress finished, then the checkpoint
        Assert.Contains($"stopped at step {at}", stopped.Stderr);
        Assert.False(Directory.Exists(Path.Combine(run.Output, "final"))); // stopped: no final model
        Assert.False(File.Exists(Path.Combine(run.Output, RunFolder.LockFile))); // lock released

        var again = run.Train([]); // the folder holds a run: a plain rerun is refused
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already holds a run", again.Stderr);

        var resumed = run.Train(["--resume", "latest"]);
        Assert.True(resumed.ExitCode == 0, $"resume failed:\n{resumed.Stdout}\n{resumed.Stderr}");
        AssertSameOutcome(baseline, run, at);
    }

    /// <summary>The last checkpoint, the final model and metrics.jsonl (in full) are identical.</summary>
    private static void AssertSameOutcome(CliTrainRun baseline, CliTrainRun run, int resumedFrom)
    {
        string last = $"checkpoint-{CliTrainRun.MaxSteps}";
        CliTrainRun.AssertSameFiles(Path.Combine(baseline.Output, last), Path.Combine(run.Output, last));
        CliTrainRun.AssertSameFiles(Path.Combine(baseline.Output, "final"), Path.Combine(run.Output, "final"));
        var expected = baseline.MetricsLines;
        Assert.Equal(CliTrainRun.MaxSteps, expected.Length);
        var actual = run.MetricsLines;
        int remaining = CliTrainRun.MaxSteps - resumedFrom;
        Assert.Equal(expected[^remaining..], actual[^remaining..]);
        Assert.Equal(expected, actual); // cut back on resume: every step once, with the uninterrupted values
    }
}

/// <summary>Tests that start child processes run one at a time: each already uses the machine's cores.</summary>
[CollectionDefinition("ChildProcesses", DisableParallelization = true)]
public sealed class ChildProcessesCollection;
