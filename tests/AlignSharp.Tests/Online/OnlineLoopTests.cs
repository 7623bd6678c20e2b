using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Online;

namespace AlignSharp.Tests.Online;

[Collection("TorchGlobalSeed")]
public sealed class OnlineLoopTests
{
    private sealed class Killed : Exception;

    internal static string[] Iterations(string dir) =>
        [.. Directory.GetDirectories(dir, "iteration-*").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    internal static void AssertSameWeights(string a, string b)
    {
        using var ma = HfCheckpoint.Load(a).Model;
        using var mb = HfCheckpoint.Load(b).Model;
        var pb = mb.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in ma.named_parameters())
            Assert.True(p.eq(pb[name]).all().item<bool>(), $"parameter {name} differs");
    }

    [Fact]
    public async Task A_killed_loop_resumes_to_the_same_pairs_and_weights_as_one_never_stopped()
    {
        // Soft reference sync and replay put state in the reference weights and in earlier iterations' files.
        const string steps = "reference: {update: soft_sync, every: 1, alpha: 0.5}\nreplay: 0.5";
        string root = OnlineFixtures.TempDir();
        try
        {
            string whole = Path.Combine(root, "whole"), killed = Path.Combine(root, "killed");
            var reports = await new OnlineLoop(OnlineFixtures.Parse(OnlineFixtures.TinyYaml(whole, steps)),
                new OnlineFixtures.Silent()).RunAsync();
            Assert.Equal([1, 2, 3], reports.Select(r => r.Iteration));
            Assert.All(reports, r => Assert.True(r.Pairs > 0 && r.OptimizerSteps > 0));
            Assert.True(reports[1].ReplayedPairs > 0);

            var config = OnlineFixtures.Parse(OnlineFixtures.TinyYaml(killed, steps));
            var dying = new OnlineLoop(config, new OnlineFixtures.Silent())
            {
                StageHook = (it, stage) => { if (it == 2 && stage == "trained") throw new Killed(); },
            };
            await Assert.ThrowsAsync<Killed>(() => dying.RunAsync());
            Assert.Equal(["iteration-0001"], Iterations(killed)); // the half-done iteration 2 left nothing complete

            var observer = new OnlineFixtures.Silent();
            var resumed = await new OnlineLoop(config, observer).RunAsync();
            Assert.Contains(observer.Messages, m => m.StartsWith("resuming after iteration 1 of 3"));
            Assert.Equal([1, 2, 3], resumed.Select(r => r.Iteration));
            Assert.Equal(Iterations(whole), Iterations(killed));
            foreach (var it in Iterations(whole))
                Assert.Equal(File.ReadAllText(Path.Combine(whole, it, "pairs.jsonl")),
                    File.ReadAllText(Path.Combine(killed, it, "pairs.jsonl")));
            AssertSameWeights(Path.Combine(whole, "final"), Path.Combine(killed, "final"));
            AssertSameWeights(Path.Combine(whole, "iteration-0003", "reference"),
                Path.Combine(killed, "iteration-0003", "reference"));

            // A finished run has nothing left to do and changes nothing.
            var again = await new OnlineLoop(config, new OnlineFixtures.Silent()).RunAsync();
            Assert.Equal(3, again.Count);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task Per_step_mode_makes_one_optimizer_step_per_iteration_on_fresh_pairs()
    {
        string root = OnlineFixtures.TempDir();
        try
        {
            var config = OnlineFixtures.Parse(OnlineFixtures.TinyYaml(root, "mode: per_step\nepochs: 3"));
            var reports = await new OnlineLoop(config, new OnlineFixtures.Silent()).RunAsync();
            Assert.All(reports, r => Assert.Equal(1, r.OptimizerSteps));
            Assert.Equal([1, 2, 3], reports.Select(r => r.GlobalStep));
            // Fresh prompts every iteration (seeded by iteration).
            var prompts = Iterations(root).Select(it => PairRecordsFile.Read(Path.Combine(root, it, "pairs.jsonl")))
                .Select(p => string.Join("|", p.Select(x => x.Prompt + x.Chosen))).ToList();
            Assert.Equal(3, prompts.Distinct().Count());
            // Every pair: chosen scores strictly higher, ids end where the text says, metrics written per iteration.
            foreach (var it in Iterations(root))
                Assert.All(PairRecordsFile.Read(Path.Combine(root, it, "pairs.jsonl")),
                    p => Assert.True(p.ChosenScore > p.RejectedScore));
            var metrics = File.ReadAllLines(Path.Combine(root, "metrics.jsonl"));
            Assert.Equal(3, metrics.Length);
            using var m = JsonDocument.Parse(metrics[^1]);
            Assert.True(m.RootElement.GetProperty("online/tokens_per_second").GetDouble() > 0);
            Assert.True(m.RootElement.TryGetProperty("loss", out _));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
