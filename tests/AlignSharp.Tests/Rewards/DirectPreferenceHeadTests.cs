using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Rewards;

/// <summary>
/// Direct Preference Heads train through the composition root: the run puts a reward head on the policy, the
/// trainer provides its outputs, the head's margin goes up, evaluation reports it, and checkpoints and the final
/// folder carry the head. Serial: the head is drawn from torch's global generator.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class DirectPreferenceHeadTests
{
    [Theory]
    [InlineData("dph_contrastive")]
    [InlineData("dph_separate")]
    public void Dph_trains_through_the_trainer_and_the_head_margin_goes_up(string id)
    {
        string dir = TinyRun.TempDir();
        string data = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes\",\"rejected\":\" no\"}}"));
        var config = RunConfig.FromTree(ConfigTree.Parse($$"""
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 32}
            tokenizer: byte
            data: {train: {{data}}, eval: {{data}}, max_length: 24}
            objectives: [{name: {{id}}, weight: 1}, {name: sft, weight: 0.1}]
            training: {batch_size: 8, max_steps: 20, learning_rate: 0.01, schedule: constant, eval_steps: 10, save_total_limit: 1}
            output_dir: {{Path.Combine(dir, "run")}}
            """, "dph.yaml"));
        IReadOnlyList<Dictionary<string, double>> log;
        using (var run = RunBuilder.Build(config, new RecordingObserver()))
        {
            Assert.NotNull(run.Head);
            log = run.Train();
        }
        var train = log.Where(m => m.ContainsKey("rewards/margins")).ToList();
        var evals = log.Where(m => m.ContainsKey("eval_rewards/margins")).ToList();
        Assert.Equal(20, train.Count);
        Assert.True(train[^1]["rewards/margins"] > train[0]["rewards/margins"] + 0.5,
            $"{id}: margins {train[0]["rewards/margins"]:F3} -> {train[^1]["rewards/margins"]:F3}");
        Assert.Equal(1.0, evals[^1]["eval_rewards/accuracies"]);
        Assert.True(File.Exists(Path.Combine(dir, "run", "final", PolicyWithHeadWeights.HeadFile)));
        Assert.True(File.Exists(Path.Combine(dir, "run", "checkpoint-20", PolicyWithHeadWeights.HeadFile)));
    }

    [Fact]
    public void A_resumed_dph_run_equals_an_uninterrupted_one()
    {
        string dir = TinyRun.TempDir();
        string data = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes\",\"rejected\":\" no\"}}"));
        RunConfig Config(string output, int steps) => RunConfig.FromTree(ConfigTree.Parse($$"""
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 32}
            tokenizer: byte
            data: {train: {{data}}, max_length: 24}
            objective: {name: dph_contrastive}
            training: {batch_size: 4, max_steps: {{steps}}, learning_rate: 0.01, schedule: constant, save_steps: 3}
            output_dir: {{Path.Combine(dir, output)}}
            """, "dph.yaml"));
        IReadOnlyList<Dictionary<string, double>> full, resumed;
        using (var run = RunBuilder.Build(Config("full", 6), new RecordingObserver())) full = run.Train();
        using (var run = RunBuilder.Build(Config("cut", 3), new RecordingObserver())) run.Train();
        using (var run = RunBuilder.Build(Config("cut", 6), new RecordingObserver())) resumed = run.Train("latest");
        Assert.Equal(full[^1]["loss"], resumed[^1]["loss"], 6);
        Assert.Equal(full[^1]["rewards/margins"], resumed[^1]["rewards/margins"], 6);
    }
}
