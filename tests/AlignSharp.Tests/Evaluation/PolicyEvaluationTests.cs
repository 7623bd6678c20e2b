using AlignSharp.Evaluation;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Evaluation;

[Collection("TorchGlobalSeed")]
public sealed class PolicyEvaluationTests
{
    [Fact]
    public void Evaluating_a_policy_against_itself_gives_zero_kl_and_bounded_rewards()
    {
        var tokenizer = new ByteTokenizer();
        var model = TinyModels.Create(tokenizer.VocabSize, seed: 5, hidden: 32, maxPositions: 64);
        var prompts = ReviewGenerator.Default.Prompts(4, seed: 1);

        var a = PolicyEvaluation.Run(model, model, tokenizer, prompts, ReviewReward.Default, samplesPerPrompt: 3, maxNewTokens: 6, seed: 9);
        var b = PolicyEvaluation.Run(model, model, tokenizer, prompts, ReviewReward.Default, samplesPerPrompt: 3, maxNewTokens: 6, seed: 9);

        Assert.Equal(12, a.Samples.Count);
        Assert.Equal(0.0, a.Kl.Mean);
        Assert.InRange(a.Reward.Mean, -1.0, 1.0);
        Assert.Equal(a.Samples.Completions, b.Samples.Completions); // seeded
        Assert.All(a.Samples.CompletionIds, c => Assert.InRange(c.Length, 1, 6));
        Assert.All(a.Samples.PromptIds, p => Assert.Equal(ByteTokenizer.Bos, p[0]));
        Assert.InRange(a.MeanLength, 1, 6);
    }

    [Fact]
    public void Decoding_stops_at_eos_and_skips_special_tokens()
    {
        var tokenizer = new ByteTokenizer();
        int[] ids = [.. tokenizer.Encode(" was good ."), ByteTokenizer.Eos, 'x'];
        Assert.Equal(" was good .", PolicySamples.DecodeCompletion(tokenizer, ids));
    }

    [Fact]
    public void Estimate_has_the_sample_standard_error()
    {
        var e = Estimate.Of([1.0, 2.0, 3.0, 4.0]);
        Assert.Equal(2.5, e.Mean);
        Assert.Equal(Math.Sqrt(5.0 / 3 / 4), e.StandardError, 12); // sd² = 5/3, SE = sd / √4
        Assert.Equal(4, e.Count);
        Assert.Equal(0.0, Estimate.Of([7.0]).StandardError);
    }
}
