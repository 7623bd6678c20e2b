using AlignSharp.Evaluation;
using AlignSharp.Online;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tests.Online;
using AlignSharp.Tokenization;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Rewards;

/// <summary>
/// PPO and RLOO: GAE, the clipped policy loss, the clipped value loss, whitening and the leave-one-out baseline on
/// tiny hand-computed tensors; then short runs against the review task's ground-truth reward from the online tests'
/// shared base model raise the ground-truth reward of fresh samples, with the KL to the reference logged per step.
/// </summary>
public sealed class PpoRlooTests
{
    private static Tensor M(int rows, params double[] v) => tensor(v, ScalarType.Float64).view(rows, -1);

    private static double[] D(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    [Fact]
    public void Gae_matches_the_recursion_by_hand_and_ignores_masked_slots()
    {
        // rewards (0.5, 1.0, junk), values (0.2, 0.4, junk), mask (1, 1, 0); the value after the last token is 0.
        // gamma 1, lambda 0.5: d1 = 1 - 0.4 = 0.6, A1 = 0.6; d0 = 0.5 + 0.4 - 0.2 = 0.7, A0 = 0.7 + 0.5 * 0.6 = 1.0.
        var rewards = M(1, 0.5, 1.0, 9);
        var values = M(1, 0.2, 0.4, 7);
        var mask = M(1, 1, 1, 0);
        var (adv, ret) = Ppo.Gae(rewards, values, mask, gamma: 1, lambda: 0.5);
        Assert.Equal([1.0, 0.6, 0.0], D(adv).Select(x => Math.Round(x, 12)));
        Assert.Equal([1.2, 1.0, 0.0], D(ret).Select(x => Math.Round(x, 12)));
        // gamma 0.9, lambda 0.95: d0 = 0.5 + 0.9 * 0.4 - 0.2 = 0.66, A0 = 0.66 + 0.855 * 0.6 = 1.173.
        var (adv2, _) = Ppo.Gae(rewards, values, mask, gamma: 0.9, lambda: 0.95);
        Assert.Equal(1.173, D(adv2)[0], 12);
    }

    [Fact]
    public void Clipped_policy_loss_takes_the_pessimistic_term_per_token()
    {
        // ratios e^0.5, e^-0.5, 1 with advantages 1, 1, -2 and clip 0.2:
        //   max(-1.6487, -1.2) = -1.2 (clipped), max(-0.60653, -0.8) = -0.60653, max(2, 2) = 2.
        // mean = (-1.2 - 0.6065306597126334 + 2) / 3 = 0.0644897800957889; clipped on 1 of 3 tokens.
        var (loss, frac) = Ppo.ClippedPolicyLoss(M(1, 0.5, -0.5, 0), M(1, 0, 0, 0), M(1, 1, 1, -2), M(1, 1, 1, 1), 0.2);
        Assert.Equal(0.0644897800957889, loss.item<double>(), 12);
        Assert.Equal(1.0 / 3, frac, 6);
    }

    [Fact]
    public void Value_loss_is_half_the_larger_of_the_plain_and_clipped_squared_errors()
    {
        // V = (1, 0), V_old = (0.5, 0.5), returns (2, 0), clip 0.2: clipped V = (0.7, 0.3);
        // max(1, 1.69) = 1.69, max(0, 0.09) = 0.09; loss = 0.5 * (1.69 + 0.09) / 2 = 0.445.
        var (loss, frac) = Ppo.ValueLoss(M(1, 1, 0), M(1, 0.5, 0.5), M(1, 2, 0), M(1, 1, 1), 0.2);
        Assert.Equal(0.445, loss.item<double>(), 12);
        Assert.Equal(1.0, frac, 12);
    }

    [Fact]
    public void Whitening_uses_the_unbiased_masked_variance_and_keeps_the_mean_when_asked()
    {
        // (1, 2, 3) over the mask: mean 2, unbiased variance 1 -> (-1, 0, 1); the masked slot stays 0.
        var x = M(1, 1, 2, 3, 100);
        var mask = M(1, 1, 1, 1, 0);
        Assert.Equal([-1.0, 0, 1, 0], D(RlRollouts.MaskedWhiten(x, mask)).Select(v => Math.Round(v, 6)));
        Assert.Equal([1.0, 2, 3, 0], D(RlRollouts.MaskedWhiten(x, mask, shiftMean: false)).Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void Rloo_baseline_is_the_mean_of_the_other_samples_of_the_prompt()
    {
        // prompt 0: (1, 2, 3) -> ((2+3)/2, (1+3)/2, (1+2)/2); prompt 1: (0, 0, 6) -> (3, 3, 0).
        var baseline = Rloo.LeaveOneOutBaseline(M(2, 1, 2, 3, 0, 0, 6));
        Assert.Equal([2.5, 2, 1.5, 3, 3, 0], D(baseline));
        Assert.Throws<OnlineException>(() => Rloo.LeaveOneOutBaseline(M(2, 1, 2)));
    }

    /// <summary>Mean ground-truth reward of one fixed-seed sample per prompt.</summary>
    private static double GroundTruth(AlignSharp.Models.CausalLM model, IReadOnlyList<string> prompts)
    {
        model.eval();
        var samples = PolicySamples.Draw(model, new ByteTokenizer(), prompts, 12, seed: 123);
        model.train();
        return samples.Prompts.Select((p, i) => ReviewReward.Default.Score(p, samples.Completions[i])).Average();
    }

    [Theory]
    [InlineData("ppo")]
    [InlineData("rloo")]
    public void A_tiny_run_against_the_ground_truth_raises_it_and_logs_the_kl_every_step(string algorithm)
    {
        string folder = OnlineFixtures.Base(OnlineTask.Review);
        using var policy = RunBuilder.Load(folder, ComputeTarget.Cpu).Model;
        using var reference = RunBuilder.Load(folder, ComputeTarget.Cpu).Model;
        var tokenizer = new ByteTokenizer();
        var train = ReviewGenerator.Default.Prompts(64, seed: 1);
        var held = ReviewGenerator.Default.Prompts(96, seed: 2);
        double before = GroundTruth(policy, held);
        var rl = new RlOptions
        {
            Steps = 16, PromptsPerStep = 8, MaxNewTokens = 12, LearningRate = 3e-3, KlCoef = 0.02, Seed = 4,
        };
        IReadOnlyList<Dictionary<string, double>> log;
        if (algorithm == "ppo")
        {
            using var ppo = new Ppo(policy, reference, tokenizer, ReviewReward.Default, new PpoOptions { Rl = rl },
                ReviewReward.Default);
            log = ppo.Run(train);
        }
        else
        {
            log = new Rloo(policy, reference, tokenizer, ReviewReward.Default,
                new RlooOptions { Rl = rl with { PpoEpochs = 1, PromptsPerStep = 4 }, K = 4 }, ReviewReward.Default).Run(train);
        }
        double after = GroundTruth(policy, held);
        Assert.Equal(16, log.Count);
        Assert.All(log, m => Assert.True(double.IsFinite(m["objective/kl"]), "KL logged every step"));
        Assert.Equal(0, log[0]["objective/kl"], 4); // the first samples come from the reference itself
        Assert.True(log[^1]["objective/kl"] > 0, "the policy moved away from the reference");
        Assert.True(after > before + 0.05, $"{algorithm}: ground-truth reward {before:F3} -> {after:F3}");
    }
}
