using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Online;

/// <summary>RLOO's own settings beside the shared <see cref="RlOptions"/> (TRL's <c>RLOOConfig</c> names).</summary>
public sealed record RlooOptions
{
    /// <summary>Sampling, optimizer and KL settings shared with PPO (<see cref="RlOptions.PpoEpochs"/> is 1 here by default).</summary>
    public RlOptions Rl { get; init; } = new() { PpoEpochs = 1 };
    /// <summary>Completions per prompt, k &gt;= 2 (<c>rloo_k</c>).</summary>
    public int K { get; init; } = 4;
    /// <summary>Whiten the advantages over the round (<c>normalize_advantage</c>).</summary>
    public bool NormalizeAdvantages { get; init; }
}

/// <summary>
/// RLOO, REINFORCE with a leave-one-out baseline (Kool et al. 2019; Ahmadian et al. 2024,
/// https://arxiv.org/abs/2402.14740), against any <see cref="IRewardFunction"/>. Each round samples k completions
/// per prompt; each gets the sequence reward <c>R_i = score_i − kl_coef Σ_t (log π(y_t) − log π_ref(y_t))</c> and the
/// advantage <c>A_i = R_i − (1/(k−1)) Σ_{j≠i} R_j</c> (the other samples of its prompt as baseline, no value model),
/// and the policy takes <see cref="RlOptions.PpoEpochs"/> steps of PPO's clipped objective on the sequence log-prob
/// ratio (on the first step ρ = 1 and the gradient is REINFORCE's <c>−A ∇ log π(y)</c>). Logs TRL's names per step
/// (<c>objective/kl</c>, <c>objective/scores</c>, <c>objective/rlhf_reward</c>, <c>loss/policy_avg</c>,
/// <c>policy/clipfrac_avg</c>, and <c>objective/ground_truth</c> when a ground truth is given).
/// </summary>
public sealed class Rloo(CausalLM policy, CausalLM reference, ITokenizer tokenizer, IRewardFunction reward,
    RlooOptions options, IRewardFunction? groundTruth = null)
{
    private readonly int pad = PadRule.IdFor(tokenizer);

    /// <summary>Trains for <see cref="RlOptions.Steps"/> rounds on prompts drawn from <paramref name="prompts"/>; returns the per-step log.</summary>
    public IReadOnlyList<Dictionary<string, double>> Run(IReadOnlyList<string> prompts,
        Action<int, IReadOnlyDictionary<string, double>>? onStep = null)
    {
        var o = options.Rl;
        o.Validate();
        if (options.K < 2) throw new OnlineException($"rloo_k must be >= 2 (the baseline needs another sample), got {options.K}");
        reference.eval();
        var parameters = policy.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.AdamW(parameters, o.LearningRate);
        var log = new List<Dictionary<string, double>>();
        for (int step = 0; step < o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = RlRollouts.PromptsFor(prompts, step, o.PromptsPerStep, o.Seed);
            var groups = RlRollouts.Sample(policy, tokenizer, pad, batch, options.K, o, o.Seed * 7919 + step);
            var rows = RlRollouts.Rows(groups);
            var device = policy.parameters().First().device;
            var scores = RlRollouts.Scores(groups, reward, device); // (R), R = P k
            Tensor oldSeq, seqKl;
            using (no_grad())
            {
                var old = RlRollouts.Forward(policy, null, rows, pad);
                var refLogps = RlRollouts.Forward(reference, null, rows, pad).LogProbs;
                var real = old.Mask.to(ScalarType.Bool);
                oldSeq = where(real, old.LogProbs, zeros_like(old.LogProbs)).sum(1); // (R, Tc) -> (R)
                seqKl = where(real, old.LogProbs - refLogps, zeros_like(refLogps)).sum(1); // (R)
            }
            var rlhf = scores - o.KlCoef * seqKl; // (R)
            var advantages = (rlhf.view(-1, options.K) - LeaveOneOutBaseline(rlhf.view(-1, options.K))).view(-1); // (P, k) -> (R)
            var ones = ones_like(advantages);
            if (options.NormalizeAdvantages) advantages = RlRollouts.MaskedWhiten(advantages, ones);
            double policyLoss = 0, clipFrac = 0;
            for (int epoch = 0; epoch < o.PpoEpochs; epoch++)
            {
                using var epochScope = NewDisposeScope();
                optimizer.zero_grad();
                var now = RlRollouts.Forward(policy, null, rows, pad);
                var seq = where(now.Mask.to(ScalarType.Bool), now.LogProbs, zeros_like(now.LogProbs)).sum(1); // (R)
                var (loss, frac) = Ppo.ClippedPolicyLoss(seq, oldSeq, advantages, ones, o.ClipRange);
                loss.backward();
                if (o.MaxGradNorm > 0) nn.utils.clip_grad_norm_(parameters, o.MaxGradNorm);
                optimizer.step();
                policyLoss += loss.to(ScalarType.Float64).item<double>() / o.PpoEpochs;
                clipFrac += frac / o.PpoEpochs;
            }
            var metrics = new Dictionary<string, double>
            {
                ["step"] = step + 1,
                ["objective/kl"] = seqKl.mean().to(ScalarType.Float64).item<double>(),
                ["objective/scores"] = scores.mean().to(ScalarType.Float64).item<double>(),
                ["objective/rlhf_reward"] = rlhf.mean().to(ScalarType.Float64).item<double>(),
                ["loss/policy_avg"] = policyLoss,
                ["policy/clipfrac_avg"] = clipFrac,
            };
            if (groundTruth is not null)
                metrics["objective/ground_truth"] = groups.SelectMany(g => g.Candidates.Select(c =>
                    groundTruth.Score(g.Prompt, c.Text))).Average();
            log.Add(metrics);
            onStep?.Invoke(step + 1, metrics);
        }
        return log;
    }

    /// <summary>
    /// The leave-one-out baseline of (P, k) rewards: for sample i of a prompt, the mean of the prompt's other k − 1
    /// rewards, <c>(Σ_j R_j − R_i) / (k − 1)</c>, (P, k).
    /// </summary>
    public static Tensor LeaveOneOutBaseline(Tensor rewards)
    {
        long k = rewards.shape[1];
        if (k < 2) throw new OnlineException($"the leave-one-out baseline needs k >= 2 samples per prompt, got {k}");
        return (rewards.sum(1, keepdim: true) - rewards) / (k - 1); // (P, 1) - (P, k) -> (P, k)
    }
}
