using AlignSharp.Checkpoints;
using AlignSharp.Runs;
using AlignSharp.Tests.Training;
using AlignSharp.Workflows;

namespace AlignSharp.Tests.Workflows;

/// <summary>Serial: these tests compare runs bit for bit, so nothing may change torch's threads or global generator meanwhile.</summary>
[Collection("TorchGlobalSeed")]
public sealed class QuickstartTests
{
    /// <summary>A test-sized quickstart: every stage runs, the before row is the reference itself, and the model folder reloads.</summary>
    [Fact]
    public void A_small_quickstart_runs_every_stage_and_reports_a_sane_table()
    {
        var options = new QuickstartOptions
        {
            CorpusSize = 200, PretrainSteps = 30, TrainPrompts = 64, EvalPrompts = 16, MaxNewTokens = 16,
            DpoEpochs = 1, HiddenSize = 32, NumLayers = 1,
        };
        string dir = TinyRun.TempDir();
        // A lock left by a process that is gone (a killed earlier quickstart) is stale and taken over.
        int deadPid;
        using (var gone = System.Diagnostics.Process.Start("true")!)
        {
            gone.WaitForExit();
            deadPid = gone.Id;
        }
        File.WriteAllText(Path.Combine(dir, RunFolder.LockFile), $"{deadPid} 0\n");
        var observer = new RecordingObserver();
        var r = new Quickstart(options, dir, observer).Run();
        Assert.Contains(observer.Messages, m => m.Contains("stale lock") && m.Contains($"process {deadPid}"));

        // Before training the policy is the reference: zero KL per sample and every implicit reward ties (counted wrong).
        Assert.Equal(0.0, r.Before.Kl.Mean, 9);
        Assert.Equal(0.0, r.Before.ImplicitAccuracy);
        // After DPO the policy differs from the reference: per-sample log-ratios vary and implicit rewards no longer tie.
        Assert.True(r.After.Kl.StandardError > 0, $"KL after DPO {r.After.Kl}");
        Assert.InRange(r.After.ImplicitAccuracy, 1e-9, 1.0);
        Assert.True(double.IsFinite(r.After.Reward.Mean) && double.IsFinite(r.Before.Reward.Mean));
        Assert.True(r.TrainPairs > 16 && r.EvalPairs > 0);
        Assert.True(File.Exists(Path.Combine(dir, "pairs.train.jsonl")));
        using (var reloaded = HfCheckpoint.Load(r.ModelDir).Model) Assert.Equal(259, reloaded.Config.VocabSize);
        Assert.False(File.Exists(Path.Combine(dir, RunFolder.LockFile))); // released

        // The folder now holds a DPO run: a second quickstart is refused before any work, unless it overwrites.
        var refused = new RecordingObserver();
        var e = Assert.Throws<RunFolderException>(() => new Quickstart(options, dir, refused).Run());
        Assert.Contains("--overwrite", e.Message);
        Assert.DoesNotContain(refused.Messages, m => m.StartsWith("1/4", StringComparison.Ordinal));
        string metrics = Path.Combine(r.ModelDir, "..", "metrics.jsonl");
        var first = File.ReadAllLines(metrics);
        var again = new RecordingObserver();
        new Quickstart(options, dir, again) { Overwrite = true }.Run();
        Assert.Contains(again.Messages, m => m.Contains("reusing the pretrained base model"));
        Assert.Equal(first.Length, File.ReadAllLines(metrics).Length); // one run's steps, not two runs appended
    }
}
