using AlignSharp.Runs;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Objectives;
using AlignSharp.Training;

namespace AlignSharp.Tests.Training;

/// <summary>Serial: these tests compare runs bit for bit, so nothing may change torch's threads or global generator meanwhile.</summary>
[Collection("TorchGlobalSeed")]
public sealed class UnpairedTrainingTests
{
    /// <summary>Unpaired examples: desirable completions use low ids, undesirable ones high ids.</summary>
    private static List<TokenizedUnpaired> Examples(int n, int seed = 5)
    {
        var rng = new Random(seed);
        int[] Seq(int lo, int hi, int len) => Enumerable.Range(0, len).Select(_ => rng.Next(lo, hi)).ToArray();
        return Enumerable.Range(0, n).Select(i =>
        {
            bool good = i % 2 == 0;
            var ex = new UnpairedExample($"p{i}", "c", good, new SourceLocation("synthetic", i + 1));
            return new TokenizedUnpaired(Seq(1, TinyRun.Vocab, rng.Next(2, 6)), good ? Seq(1, 12, rng.Next(2, 7)) : Seq(12, TinyRun.Vocab, rng.Next(2, 7)), ex);
        }).ToList();
    }

    [Fact]
    public void Kto_trains_on_unpaired_examples_with_in_batch_mismatched_kl()
    {
        var data = Examples(16);
        var setup = TrainingSetup.ForUnpaired(TinyRun.Model(), new FrozenReference(TinyRun.Model()), new Kto(0.1), data, data, 0);
        var options = new TrainingOptions { MaxSteps = 30, BatchSize = 8, LearningRate = 1e-2, Schedule = ScheduleKind.Constant };
        var log = new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();
        var train = log.Where(m => m.ContainsKey("loss")).ToList();
        Assert.Equal(0.5, train[0]["loss"], 6); // policy == reference: every example's loss is 1 - sigmoid(0)
        Assert.Equal(0.0, train[0]["kl"], 6);
        Assert.True(train[^1]["loss"] < 0.45, $"kto loss {train[0]["loss"]} -> {train[^1]["loss"]}");
        var eval = log.Last(m => m.ContainsKey("eval_loss"));
        Assert.True(eval["eval_rewards/chosen"] > eval["eval_rewards/rejected"]);
    }

    [Fact]
    public void A_pairwise_objective_on_unpaired_data_is_a_clear_error()
    {
        var data = Examples(8);
        var setup = TrainingSetup.ForUnpaired(TinyRun.Model(), new FrozenReference(TinyRun.Model()), new Dpo(0.1), data, [], 0);
        var options = new TrainingOptions { MaxSteps = 1, BatchSize = 4 };
        var e = Assert.Throws<ObjectiveException>(() => new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.Contains("unpaired", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_kto_run_config_trains_from_unpaired_records_or_from_split_pairs(bool fromPairs)
    {
        string dir = TinyRun.TempDir();
        string data = Path.Combine(dir, "data.jsonl");
        var rng = new Random(1);
        var lines = Enumerable.Range(0, 24).Select(i => fromPairs
            ? $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes\",\"rejected\":\" no{rng.Next(9)}\"}}"
            : $"{{\"prompt\":\"q{i}:\",\"completion\":\"{(i % 2 == 0 ? " yes" : " no")}\",\"label\":{(i % 2 == 0 ? "true" : "false")}}}");
        File.WriteAllLines(data, lines);
        var tree = ConfigTree.Parse($$"""
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 64}
            tokenizer: byte
            data: {train: {{data}}, eval_fraction: 0.25, max_length: 48, unpair: {{fromPairs.ToString().ToLowerInvariant()}}}
            objective: {name: kto, beta: 0.1}
            reference: frozen
            training: {batch_size: 4, max_steps: 3, learning_rate: 0.001}
            output_dir: {{Path.Combine(dir, "run")}}
            """, "kto.yaml");
        var observer = new RecordingObserver();
        var log = new TrainingRun(RunConfig.FromTree(tree), observer).Execute();
        Assert.Contains(observer.Messages, m => m.Contains("(unpaired)"));
        Assert.All(log.Where(m => m.ContainsKey("loss")), m => Assert.True(double.IsFinite(m["loss"]) && m.ContainsKey("kl")));
        Assert.True(File.Exists(Path.Combine(dir, "run", "final", "model.safetensors")));
    }
}
