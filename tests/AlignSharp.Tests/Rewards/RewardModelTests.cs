using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tests.Training;
using AlignSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Rewards;

/// <summary>
/// Reward models: the Bradley-Terry loss against hand-computed values, transformers' last-token rule, the saved
/// folder's keys and config against transformers' sequence-classification layout, exact reload, and a tiny reward
/// model on the review task beating chance against the ground-truth reward. Serial: fresh heads seed torch's global
/// generator.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class RewardModelTests
{
    private static Tensor V(params double[] v) => tensor(v, ScalarType.Float64);

    private static PairStats Heads(Tensor rw, Tensor rl, params (string Key, Tensor Value)[] extra)
    {
        var z = zeros_like(rw);
        var keyed = new Dictionary<string, Tensor>
        {
            [HeadRewards.ChosenKey] = rw, [HeadRewards.RejectedKey] = rl,
        };
        foreach (var (k, v) in extra) keyed[k] = v;
        return new PairStats(z, z, null, null, ones_like(rw), ones_like(rw)) { Extras = keyed };
    }

    [Fact]
    public void Bradley_terry_loss_margin_and_centering_match_hand_computed_values()
    {
        // rw = (1, 0.5), rl = (0, 1), margins m = (0.5, 0):
        //   pair 0: -ls(1 - 0 - 0.5) = log(1 + e^-0.5) = 0.4740769841801067
        //   pair 1: -ls(0.5 - 1 - 0)  = log(1 + e^0.5)  = 0.9740769841801067
        // centering c = 0.1 adds c (rw + rl)^2 = 0.1 and 0.225.
        var rw = V(1, 0.5);
        var rl = V(0, 1);
        var plain = new BradleyTerry(0).Compute(Heads(rw, rl, ("margin", V(0.5, 0))), ObjectiveContext.Eval);
        Assert.Equal(0.4740769841801067, plain.Losses[0].item<double>(), 12);
        Assert.Equal(0.9740769841801067, plain.Losses[1].item<double>(), 12);
        var centered = new BradleyTerry(0.1).Compute(Heads(rw, rl, ("margin", V(0.5, 0))), ObjectiveContext.Eval);
        Assert.Equal(0.5740769841801067, centered.Losses[0].item<double>(), 12);
        Assert.Equal(1.1990769841801067, centered.Losses[1].item<double>(), 12);
        // Without a margin column: -ls(1) = 0.3132616875182228, -ls(-0.5) = 0.9740769841801067.
        var noMargin = new BradleyTerry(0).Compute(Heads(rw, rl), ObjectiveContext.Eval);
        Assert.Equal(0.3132616875182228, noMargin.Losses[0].item<double>(), 12);
        // TRL's metrics: accuracy 1/2, margin mean(1, -0.5) = 0.25, rewards {1, 0.5, 0, 1}: min 0, mean 0.625, max 1.
        var m = plain.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float64).item<double>());
        Assert.Equal(0.5, m["accuracy"], 12);
        Assert.Equal(0.25, m["margin"], 12);
        Assert.Equal(0, m["min_reward"], 12);
        Assert.Equal(0.625, m["mean_reward"], 12);
        Assert.Equal(1, m["max_reward"], 12);
        Assert.False(new BradleyTerry(0).ReadsLogProbs);
        Assert.Equal("bradley_terry", ObjectiveCatalog.Get("bradley_terry").Id);
    }

    [Fact]
    public void Last_token_is_the_rightmost_non_pad_token_as_transformers_finds_it()
    {
        const int P = 9;
        var ids = tensor(new long[] { 5, 6, 7, P, P, /**/ P, 5, 6, 7, 8, /**/ 5, P, 6, P, P, /**/ P, P, P, P, P }, [4, 5]);
        Assert.Equal([2L, 4, 2, 0], RewardModel.LastTokenIndex(ids, P).data<long>().ToArray());
        Assert.Equal([4L, 4, 4, 4], RewardModel.LastTokenIndex(ids, null).data<long>().ToArray());
    }

    public static TheoryData<string> Families() => ["gpt2", "llama"];

    [Theory]
    [MemberData(nameof(Families))]
    public void Saved_folder_has_transformers_keys_and_config_and_reloads_scoring_identically(string type)
    {
        var cfg = type == "gpt2"
            ? ModelConfig.TinyGpt2(40, hidden: 16, layers: 1, heads: 2, maxPositions: 32)
            : ModelConfig.TinyLlama(40, hidden: 16, layers: 1, heads: 2, kvHeads: 1, maxPositions: 32);
        manual_seed(3);
        using var model = new RewardModel(ModelFactory.Create(cfg), padTokenId: 39);
        string dir = Path.Combine(TinyRun.TempDir(), "rm");
        RewardModelFolder.Save(model, dir);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        string expected = type == "gpt2" ? "GPT2ForSequenceClassification" : "LlamaForSequenceClassification";
        Assert.Equal(expected, config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(1, config["num_labels"]!.GetValue<int>());
        Assert.Equal("LABEL_0", config["id2label"]!["0"]!.GetValue<string>());
        Assert.Equal(39, config["pad_token_id"]!.GetValue<int>());
        Assert.Equal(type, config["model_type"]!.GetValue<string>());

        using (var file = SafetensorsFile.Open(Path.Combine(dir, HfCheckpoint.WeightsFile)))
        {
            var keys = file.Tensors.Keys.ToHashSet();
            Assert.Equal([1L, 16], file.Tensors[RewardModel.ScoreName].Shape);
            Assert.DoesNotContain("lm_head.weight", keys); // transformers' classifier has no LM head
            string prefix = type == "gpt2" ? "transformer." : "model.";
            Assert.All(keys.Where(k => k != RewardModel.ScoreName), k => Assert.StartsWith(prefix, k));
            var decoder = model.Backbone.state_dict().Keys.Where(k => k != "lm_head.weight").Append(RewardModel.ScoreName);
            Assert.Equal(decoder.Order(), keys.Order());
        }

        var rows = new List<(int[], int[])> { ([1, 2, 3], [4, 5]), ([1, 7], [8, 9, 10, 11]), ([2], [3]) };
        var padded = RowCollator.RightPad(rows, 39);
        using var _ = no_grad();
        var before = model.Rewards(padded.InputIds, padded.AttentionMask);
        using var loaded = RewardModelFolder.Load(dir);
        var after = loaded.Rewards(padded.InputIds, padded.AttentionMask);
        Assert.Equal(before.data<float>().ToArray(), after.data<float>().ToArray()); // bit for bit
        // Padding never changes a row's reward: each row alone scores the same (up to float summation order).
        var alone = RowCollator.RightPad([rows[2]], 39);
        Assert.Equal(before[2].item<float>(), loaded.Rewards(alone.InputIds, alone.AttentionMask)[0].item<float>(), 5);
    }

    [Fact]
    public void A_causal_lm_folder_is_not_a_reward_model_and_says_so()
    {
        manual_seed(1);
        using var lm = ModelFactory.Create(ModelConfig.TinyGpt2(40, hidden: 16, layers: 1, heads: 2, maxPositions: 32));
        string dir = Path.Combine(TinyRun.TempDir(), "lm");
        HfCheckpoint.Save(lm, dir);
        Assert.False(RewardModelFolder.IsRewardModel(dir));
        var e = Assert.Throws<CheckpointException>(() => RewardModelFolder.Load(dir));
        Assert.Contains("'architectures' is 'GPT2LMHeadModel'", e.Message);
    }

    /// <summary>Review-task pairs: two completions of random mood per prompt, chosen by the ground-truth reward.</summary>
    private static List<PreferenceExample> ReviewPairs(int count, int seed)
    {
        var gen = ReviewGenerator.Default;
        var reward = ReviewReward.Default;
        var rng = new Random(seed);
        var pairs = new List<PreferenceExample>();
        while (pairs.Count < count)
        {
            string prompt = gen.Prompt(rng);
            string a = gen.Completion(rng, rng.NextDouble() * 2 - 1), b = gen.Completion(rng, rng.NextDouble() * 2 - 1);
            double ra = reward.Score(prompt, a), rb = reward.Score(prompt, b);
            if (ra == rb) continue;
            pairs.Add(new PreferenceExample(prompt, ra > rb ? a : b, ra > rb ? b : a,
                new SourceLocation("review", pairs.Count + 1)));
        }
        return pairs;
    }

    [Fact]
    public void A_tiny_reward_model_on_the_review_task_beats_chance_on_held_out_ground_truth_pairs()
    {
        string dir = TinyRun.TempDir();
        string data = Path.Combine(dir, "pairs.jsonl");
        PreferenceJsonlWriter.Write(data, ReviewPairs(256, seed: 11));
        var config = RunConfig.FromTree(ConfigTree.Parse($$"""
            model: {hidden_size: 32, num_layers: 1, num_heads: 2, max_positions: 96}
            tokenizer: byte
            data: {train: {{data}}, eval_fraction: 0.125, max_length: 96}
            objective: {name: bradley_terry, center_rewards_coefficient: 0.01}
            training: {batch_size: 16, max_steps: 100, learning_rate: 0.002, schedule: constant, eval_steps: 50, seed: 5}
            output_dir: {{Path.Combine(dir, "rm")}}
            """, "reward.yaml"));
        var observer = new RecordingObserver();
        IReadOnlyList<Dictionary<string, double>> log;
        using (var run = RunBuilder.BuildReward(config, observer)) log = run.Train();
        var train = log.Where(m => m.ContainsKey("accuracy")).ToList();
        foreach (var name in new[] { "loss", "accuracy", "margin", "min_reward", "mean_reward", "max_reward" })
            Assert.True(train[0].ContainsKey(name), $"missing TRL reward metric '{name}'");
        Assert.DoesNotContain("logps/chosen", train[0].Keys); // a reward model reads no log-probs
        Assert.Contains(log, m => m.ContainsKey("eval_accuracy"));

        // Held out: fresh prompts and completions, labelled by the ground-truth reward itself (no label noise).
        string final = Path.Combine(dir, "rm", "final");
        Assert.True(RewardModelFolder.IsRewardModel(final));
        using var model = RewardModelFolder.Load(final);
        var scorer = new RewardModelScorer(model, new ByteTokenizer(), TokenizationOptions.WithHalfPrompt(96));
        var held = ReviewPairs(200, seed: 99);
        var chosen = scorer.Score([.. held.Select(p => (p.Prompt, p.Chosen))]);
        var rejected = scorer.Score([.. held.Select(p => (p.Prompt, p.Rejected))]);
        double accuracy = held.Select((_, i) => chosen[i] > rejected[i] ? 1.0 : 0.0).Average();
        Assert.True(accuracy > 0.62, $"held-out ground-truth accuracy {accuracy:F3} (chance is 0.5)");
    }
}
