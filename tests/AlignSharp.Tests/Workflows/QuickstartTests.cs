using AlignSharp.Checkpoints;
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
        var r = new Quickstart(options, dir, new RecordingObserver()).Run();

        // Before training the policy is the reference: zero KL per sample and every implicit reward ties (counted wrong).
        Assert.Equal(0.0, r.Before.Kl.Mean, 9);
        Assert.Equal(0.0, r.Before.ImplicitAccuracy);
        // After DPO the policy differs from the reference: per-sample log-ratios vary and implicit rewards no longer tie.
        Assert.True(r.After.Kl.StandardError > 0, $"KL after DPO {r.After.Kl}");
        Assert.InRange(r.After.ImplicitAccuracy, 1e-9, 1.0);
        Assert.True(double.IsFinite(r.After.Reward.Mean) && double.IsFinite(r.Before.Reward.Mean));
        Assert.True(r.TrainPairs > 16 && r.EvalPairs > 0);
        Assert.True(File.Exists(Path.Combine(dir, "pairs.train.jsonl")));
        using var reloaded = HfCheckpoint.Load(r.ModelDir).Model;
        Assert.Equal(259, reloaded.Config.VocabSize);
    }
}
