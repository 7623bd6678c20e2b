using AlignSharp.Online;

namespace AlignSharp.Tests.Online;

/// <summary>Every preset in examples/online runs end to end at tiny size (from the shared base models).</summary>
[Collection("TorchGlobalSeed")]
public sealed class PresetTests
{
    private static string PresetPath(string name) =>
        Path.Combine(TestSetup.RepoRoot, "examples", "online", name + ".yaml");

    private static List<string> Names() =>
        [.. Directory.GetFiles(Path.Combine(TestSetup.RepoRoot, "examples", "online"), "*.yaml")
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Presets() => [.. Names()];

    [Fact]
    public void The_presets_are_the_eight_the_docs_describe_and_each_cites_its_paper()
    {
        Assert.Equal(
            ["curry_dpo", "dice", "ilr_dpo", "iterative_dpo", "online_dpo", "self_rewarding", "self_training", "sppo"],
            Names());
        foreach (var name in Names())
        {
            var text = File.ReadAllText(PresetPath(name));
            Assert.StartsWith($"# alignsharp online --config examples/online/{name}.yaml", text);
            Assert.Contains("https://arxiv.org/abs/", text);
        }
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public async Task A_preset_runs_end_to_end_at_tiny_size(string name)
    {
        string root = OnlineFixtures.TempDir();
        try
        {
            var preset = OnlineConfig.Load(PresetPath(name));
            var config = OnlineConfig.Load(PresetPath(name),
            [
                $"model.path={OnlineFixtures.Base(preset.Online.Task)}", "online.base.pretrain_steps=0",
                "online.iterations=2", "online.prompts_per_iteration=4",
                $"online.sample.n={Math.Min(preset.Online.Sample.N, 4)}",
                $"online.sample.max_new_tokens={(preset.Online.Task == OnlineTask.Arithmetic ? 40 : 12)}",
                "training.batch_size=4", "training.threads=1", $"output_dir={root}",
            ]);
            var reports = await new OnlineLoop(config, new OnlineFixtures.Silent()).RunAsync();

            Assert.Equal([1, 2], reports.Select(r => r.Iteration));
            Assert.True(File.Exists(Path.Combine(root, "final", "config.json")));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(root, "metrics.jsonl")).Length);
            var pairs = reports
                .Select(r => PairRecordsFile.Read(Path.Combine(root, $"iteration-{r.Iteration:0000}", "pairs.jsonl")))
                .ToList();
            Assert.Equal(reports.Select(r => r.Pairs), pairs.Select(p => p.Count));
            Assert.True(reports.Sum(r => r.Pairs) > 0, "no pairs in any iteration");
            Assert.All(pairs.SelectMany(p => p), p => Assert.True(p.ChosenScore > p.RejectedScore));
            Assert.All(reports, r => Assert.Equal(r.Pairs + r.ReplayedPairs > 0, r.OptimizerSteps > 0));
            if (preset.Online.Mode == OnlineMode.PerStep)
                Assert.All(reports, r => Assert.InRange(r.OptimizerSteps, 0, 1));
            if (preset.Online.Score.Kind is ScoreKind.Judge or ScoreKind.SelfJudge)
                Assert.All(pairs.SelectMany(p => p), p => Assert.InRange(p.ChosenWinProb, 0, 1));
            if (preset.Online.Reference.Update != ReferenceUpdate.Fixed)
                Assert.True(Directory.Exists(Path.Combine(root, "iteration-0002", "reference")));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
