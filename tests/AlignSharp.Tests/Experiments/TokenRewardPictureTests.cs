using AlignSharp.Evaluation;
using AlignSharp.Experiments;
using AlignSharp.Runs;
using AlignSharp.Tests.Evaluation;

namespace AlignSharp.Tests.Experiments;

[Collection("TorchGlobalSeed")]
public sealed class TokenRewardPictureTests
{
    [Fact]
    public void Token_rewards_sum_to_the_dpo_implicit_reward_and_vanish_against_the_policy_itself()
    {
        var tokenizer = RunTokenizer.Load(RunTokenizer.Byte);
        using var policy = TinyModels.Create(tokenizer.VocabSize, seed: 1, sharpness: 5, maxPositions: 64);
        using var reference = TinyModels.Create(tokenizer.VocabSize, seed: 2, sharpness: 5, maxPositions: 64);
        const string prompt = "q: ann has 5 pens .", completion = " 5 + 3 = 8 ,";
        const double beta = 0.5;
        var row = TokenRewardPicture.Compute("x", policy, reference, tokenizer, prompt, completion, beta);
        Assert.Equal(completion, string.Concat(row.Tokens));
        Assert.Equal(row.Tokens.Count, row.Rewards.Count);
        // sequence reward = β (log π(y|x) − log π_ref(y|x)), the DPO implicit reward (spec: token_rewards identity).
        int[] p = PolicySamples.EncodePrompt(tokenizer, prompt), y = [.. tokenizer.Encode(completion)];
        double lp = CompletionLogProbs.Compute(policy, [p], [y])[0], lr = CompletionLogProbs.Compute(reference, [p], [y])[0];
        Assert.Equal(beta * (lp - lr), row.Rewards.Sum(), 4);
        Assert.Contains(row.Rewards, r => Math.Abs(r) > 1e-3);
        var self = TokenRewardPicture.Compute("self", policy, policy, tokenizer, prompt, completion, beta);
        Assert.All(self.Rewards, r => Assert.Equal(0.0, r));

        string path = Path.Combine(TestTemp.Dir("token-rewards"), "t.png");
        TokenRewardPicture.Write(path, "test", [row, self]);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(path)[..4]);
    }
}
