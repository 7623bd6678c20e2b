using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Evaluation;

[Collection("TorchGlobalSeed")]
public sealed class ImplicitRewardAccuracyTests
{
    [Fact]
    public void Accuracy_is_zero_when_policy_is_reference_because_ties_count_as_wrong()
    {
        var tokenizer = new ByteTokenizer();
        var policy = TinyModels.Create(tokenizer.VocabSize, seed: 3, hidden: 32, maxPositions: 64);
        var clone = TinyModels.Clone(policy);
        var rng = new Random(1);
        var prompts = ReviewGenerator.Default.Prompts(24, 1);
        var pairs = new BradleyTerryLabeler(ReviewReward.Default).Label(prompts,
                prompts.Select(_ => ReviewGenerator.Default.Completion(rng, 1)).ToList(),
                prompts.Select(_ => ReviewGenerator.Default.Completion(rng, -1)).ToList(), seed: 2)
            .Select(new PairTokenizer(tokenizer, 64).Tokenize).ToList();

        var result = ImplicitRewardAccuracy.Compute(policy, clone, pairs, beta: 0.1, batchSize: 8);
        Assert.Equal(pairs.Count, result.Count);
        Assert.Equal(0.0, result.Accuracy);
        Assert.Equal(0.0, result.MeanMargin);
        Assert.Equal(0.0, ImplicitRewardAccuracy.Compute(policy, policy, pairs, beta: 0.1).Accuracy);
    }

    [Fact]
    public void Accuracy_is_one_on_an_overfit_set()
    {
        // An overfit policy raised every chosen log-prob and lowered every rejected one relative to the reference.
        double[] rw = [-10, -12, -8, -20], rl = [-11, -9, -15, -14];
        double[] pw = rw.Select(x => x + 3).ToArray(), pl = rl.Select(x => x - 2).ToArray();
        var r = ImplicitRewardAccuracy.FromLogProbs(pw, rw, pl, rl, beta: 0.5);
        Assert.Equal(1.0, r.Accuracy);
        Assert.Equal(0.5 * 5, r.MeanMargin, 12); // β((pw - rw) - (pl - rl)) = 0.5 (3 + 2)
    }

    [Fact]
    public void Accuracy_counts_strict_wins_only()
    {
        // Pair 0: chosen +1, rejected 0 -> right. Pair 1: tie -> wrong. Pair 2: chosen -1, rejected +1 -> wrong.
        var r = ImplicitRewardAccuracy.FromLogProbs([1, 0, -1], [0, 0, 0], [0, 0, 1], [0, 0, 0], beta: 0.1);
        Assert.Equal(1.0 / 3, r.Accuracy, 12);
        Assert.Equal(0.1 * (1 + 0 - 2) / 3, r.MeanMargin, 12);
    }

    [Fact]
    public void Mismatched_lengths_and_bad_beta_are_errors()
    {
        Assert.Contains("differ in length", Assert.Throws<EvaluationException>(() => ImplicitRewardAccuracy.FromLogProbs([1], [1, 2], [1], [1], 0.1)).Message);
        Assert.Contains("beta", Assert.Throws<EvaluationException>(() => ImplicitRewardAccuracy.FromLogProbs([1], [1], [1], [1], 0)).Message);
    }
}
