using System.Diagnostics;
using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// One run per output folder: a live holder's lock refuses a second run, a stale lock is taken over, a folder holding
/// a run needs --overwrite or --resume, a resume refuses a changed config except keys a resume may change, and a
/// resumed run's metrics.jsonl holds every step once.
/// </summary>
public sealed class RunFolderTests
{
    private static RunConfig Config(string dir, double lr = 1e-3, int maxSteps = 10) => new()
    {
        OutputDir = dir,
        Training = new TrainingOptions { LearningRate = lr, MaxSteps = maxSteps },
    };

    private static readonly Action<string> Ignore = _ => { };

    [Fact]
    public void A_second_run_on_a_held_folder_is_refused_and_the_lock_is_released_on_dispose()
    {
        string dir = TinyRun.TempDir();
        using (var first = RunFolder.Claim(Config(dir), RunFolderMode.Fresh, false, Ignore))
        {
            Assert.Equal($"{Environment.ProcessId}", File.ReadAllText(Path.Combine(dir, RunFolder.LockFile)).Split(' ')[0]);
            var e = Assert.Throws<RunFolderException>(() => RunFolder.Claim(Config(dir), RunFolderMode.Resume, false, Ignore));
            Assert.Contains($"in use by another run (process {Environment.ProcessId}", e.Message);
        }
        Assert.False(File.Exists(Path.Combine(dir, RunFolder.LockFile)));
    }

    [Fact]
    public void A_lock_held_by_another_live_process_refuses_and_a_dead_holder_is_stale()
    {
        string dir = TinyRun.TempDir();
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        long ticks = sleeper.StartTime.ToUniversalTime().Ticks;
        File.WriteAllText(Path.Combine(dir, RunFolder.LockFile), $"{sleeper.Id} {ticks}\n");
        var e = Assert.Throws<RunFolderException>(() => RunFolder.Claim(Config(dir), RunFolderMode.Fresh, false, Ignore));
        Assert.Contains($"process {sleeper.Id}", e.Message);
        Assert.Contains(RunFolder.LockFile, e.Message);

        sleeper.Kill();
        sleeper.WaitForExit();
        var messages = new List<string>();
        using (RunFolder.Claim(Config(dir), RunFolderMode.Fresh, false, messages.Add))
            Assert.Contains(messages, m => m.Contains("stale lock") && m.Contains($"process {sleeper.Id}"));
    }

    [Fact]
    public void A_folder_holding_a_run_needs_overwrite_or_resume()
    {
        string dir = TinyRun.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "checkpoint-2"));
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), "{\"step\": 1}\n");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var e = Assert.Throws<RunFolderException>(() => RunFolder.Claim(Config(dir), RunFolderMode.Fresh, false, Ignore));
        Assert.Contains("already holds a run", e.Message);
        Assert.Contains("--resume latest", e.Message);
        Assert.Contains("--overwrite", e.Message);
        using (RunFolder.Claim(Config(dir), RunFolderMode.Resume, false, Ignore)) { }
        using (RunFolder.Claim(Config(dir), RunFolderMode.Overwrite, false, Ignore)) { }
        Assert.False(Directory.Exists(Path.Combine(dir, "checkpoint-2")));
        Assert.False(File.Exists(Path.Combine(dir, "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(dir, "notes.txt"))); // only the run's own outputs are removed
    }

    [Fact]
    public void Resume_refuses_a_changed_config_naming_the_keys_unless_allowed_or_resumable()
    {
        string dir = TinyRun.TempDir();
        using (RunFolder.Claim(Config(dir), RunFolderMode.Fresh, false, Ignore)) { }
        var e = Assert.Throws<RunFolderException>(() =>
            RunFolder.Claim(Config(dir, lr: 2e-3), RunFolderMode.Resume, false, Ignore));
        Assert.Contains("training.learning_rate: 0.001 -> 0.002", e.Message);
        Assert.Contains("--allow-config-change", e.Message);
        Assert.DoesNotContain("max_steps", e.Message);

        var messages = new List<string>();
        using (RunFolder.Claim(Config(dir, maxSteps: 20), RunFolderMode.Resume, false, messages.Add)) { } // may change
        Assert.Contains(messages, m => m.Contains("training.max_steps: 10 -> 20"));
        using (RunFolder.Claim(Config(dir, lr: 2e-3, maxSteps: 20), RunFolderMode.Resume, true, Ignore)) { }
        using (RunFolder.Claim(Config(dir, lr: 2e-3, maxSteps: 20), RunFolderMode.Resume, false, Ignore)) { } // now saved
    }
}

/// <summary>On resume, metrics.jsonl is cut back to the checkpoint's step, so each step appears once.</summary>
[Collection("TorchGlobalSeed")]
public sealed class MetricsResumeTests
{
    [Fact]
    public void Resume_cuts_metrics_back_to_the_checkpoint_so_every_step_appears_once_with_the_same_values()
    {
        var pairs = TinyRun.Pairs(8);
        var options = new TrainingOptions { MaxSteps = 4, BatchSize = 4, LearningRate = 1e-2, Seed = 7, SaveSteps = 2, SaveTotalLimit = 0 };
        string dir = TinyRun.TempDir();
        new PreferenceTrainer(TinyRun.Setup(pairs), options, dir, new RecordingObserver()).Run();
        string path = Path.Combine(dir, "metrics.jsonl");
        var uninterrupted = File.ReadAllLines(path);
        File.AppendAllText(path, "{\"step\": 5, \"loss\": 0.1"); // and a line torn by a crash
        new PreferenceTrainer(TinyRun.Setup(pairs), options, dir, new RecordingObserver()).Run(Path.Combine(dir, "checkpoint-2"));
        Assert.Equal(uninterrupted, File.ReadAllLines(path));
    }
}
