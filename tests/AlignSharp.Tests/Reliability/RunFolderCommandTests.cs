using System.Diagnostics;
using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Tests.Cli;
using AlignSharp.Tests.Training;

namespace AlignSharp.Tests.Reliability;

/// <summary>A live process holding a folder's run lock (as a run in another process would), killed on dispose.</summary>
internal sealed class LiveHolder : IDisposable
{
    private readonly Process sleeper;

    public LiveHolder(string dir)
    {
        sleeper = Process.Start(new ProcessStartInfo("sleep", "120") { UseShellExecute = false })!;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, RunFolder.LockFile), $"{sleeper.Id} {sleeper.StartTime.ToUniversalTime().Ticks}\n");
    }

    /// <summary>The holder's pid.</summary>
    public int Pid => sleeper.Id;

    public void Dispose()
    {
        sleeper.Kill();
        sleeper.WaitForExit();
        sleeper.Dispose();
    }
}

/// <summary>
/// One run per folder for every command that writes a run folder: a folder a live run holds is refused with one line
/// naming the holder's pid, and nothing is written.
/// </summary>
[Collection("Console")]
public sealed class RunFolderCommandTests
{
    private static string Example(params string[] parts) => Path.Combine([TestSetup.RepoRoot, "examples", .. parts]);

    /// <summary>Every command that writes a run folder, as written on the command line.</summary>
    public static TheoryData<string> Commands =>
        new(["train", "reward train", "quickstart", "online", "experiment frontier", "experiment online",
            "experiment reasoning"]);

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_folder_a_live_run_holds_is_refused_naming_the_holder_and_nothing_is_written(string command)
    {
        string dir = TestTemp.Dir("held");
        using var holder = new LiveHolder(dir);
        string pairs = Example("tiny-pairs.jsonl");
        string[] args = command switch
        {
            "train" => ["train", "--config", Example("dpo-tiny.yaml"), "--set", $"output_dir={dir}", "--set", $"data.train={pairs}"],
            "reward train" => ["reward", "train", "--config", Example("reward-tiny.yaml"), "--set", $"output_dir={dir}",
                "--set", $"data.train={pairs}"],
            "quickstart" => ["quickstart", "--output", dir],
            "online" => ["online", "--config", Example("online", "iterative_dpo.yaml"), "--set", $"output_dir={dir}"],
            "experiment frontier" => ["experiment", "frontier", "--preset", "test", "--out", dir],
            "experiment online" => ["experiment", "online", "--preset", "test", "--out", dir],
            "experiment reasoning" => ["experiment", "reasoning", "--preset", "test", "--out", dir],
            _ => throw new ArgumentException(command),
        };
        var (code, _, err) = CliConsole.Run(args);
        Assert.Equal(1, code);
        Assert.Contains($"is in use by another run (process {holder.Pid}, lock file {Path.Combine(dir, RunFolder.LockFile)})", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, no stack trace
        Assert.Equal([RunFolder.LockFile], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }
}

/// <summary>The library's training entry points claim the output folder as <c>alignsharp train</c> does.</summary>
[Collection("TorchGlobalSeed")]
public sealed class LibraryRunFolderTests
{
    [Fact]
    public void Library_runs_claim_their_folder_a_rerun_is_refused_and_overwrite_replaces_the_run()
    {
        var run = CliTrainRun.Create("dpo");
        var config = RunConfig.Load(run.Config, ["training.max_steps=2", "training.threads=0", "reference=frozen"]);
        string metrics = Path.Combine(run.Output, "metrics.jsonl"), lockFile = Path.Combine(run.Output, RunFolder.LockFile);
        new TrainingRun(config, new RecordingObserver()).Execute();
        var once = File.ReadAllLines(metrics);
        Assert.False(File.Exists(lockFile)); // released at the end

        // A fresh run on a folder holding one: refused through TrainingRun and through RunBuilder's PreparedRun.Train.
        var e = Assert.Throws<RunFolderException>(() => new TrainingRun(config, new RecordingObserver()).Execute());
        Assert.Contains("already holds a run", e.Message);
        Assert.Contains("--overwrite", e.Message);
        using (var built = RunBuilder.Build(config, new RecordingObserver()))
            Assert.Contains("already holds a run", Assert.Throws<RunFolderException>(() => built.Train()).Message);
        Assert.Equal(once, File.ReadAllLines(metrics));

        // While another run holds the folder, even an overwrite is refused.
        using (RunFolder.Claim(config, RunFolderMode.Resume, false, _ => { }))
        {
            e = Assert.Throws<RunFolderException>(() => new TrainingRun(config, new RecordingObserver()) { Overwrite = true }.Execute());
            Assert.Contains($"in use by another run (process {Environment.ProcessId}", e.Message);
        }

        // Overwrite replaces the run: metrics.jsonl holds one run's steps, the same again (same seed), not two runs.
        var observer = new RecordingObserver();
        new TrainingRun(config, observer) { Overwrite = true }.Execute();
        Assert.Contains(observer.Messages, m => m.Contains("--overwrite: removed the previous run"));
        Assert.Equal(once, File.ReadAllLines(metrics));
        Assert.False(File.Exists(lockFile));
    }
}
