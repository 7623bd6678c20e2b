using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Online;

/// <summary>PPO's own settings beside the shared <see cref="RlOptions"/> (TRL's <c>PPOConfig</c> names).</summary>
public sealed record PpoOptions
{
    /// <summary>Sampling, optimizer and KL settings shared with RLOO.</summary>
    public RlOptions Rl { get; init; } = new();
    /// <summary>Weight of the value loss (<c>vf_coef</c>).</summary>
    public double VfCoef { get; init; } = 0.1;
    /// <summary>Clip of the value prediction around the old value (<c>cliprange_value</c>).</summary>
    public double ClipRangeValue { get; init; } = 0.2;
    /// <summary>Discount γ (<c>gamma</c>).</summary>
    public double Gamma { get; init; } = 1.0;
    /// <summary>GAE's λ (<c>lam</c>).</summary>
    public double Lambda { get; init; } = 0.95;
    /// <summary>Whiten the per-token rewards over the round (scale only; <c>whiten_rewards</c>).</summary>
    public bool WhitenRewards { get; init; } = true;
}

/// <summary>
/// PPO for language models (Schulman et al. 2017, https://arxiv.org/abs/1707.06347; as RLHF uses it, Ziegler et al.
/// 2019 and Ouyang et al. 2022, and as the DPO paper's baseline) against any <see cref="IRewardFunction"/>: a learned
/// reward model (<c>Evaluation.RewardModelScorer</c>) or the ground truth (the paper's PPO-GT). Each round samples one
/// completion per prompt, scores it, and builds per-token rewards
/// <c>r_t = −kl_coef (log π(y_t) − log π_ref(y_t)) + [t = last] score</c> (optionally whitened), advantages by GAE
/// (<c>δ_t = r_t + γ V_{t+1} − V_t</c>, <c>A_t = δ_t + γλ A_{t+1}</c>, then whitened) from a value head on the policy's
/// hidden states, then takes <see cref="RlOptions.PpoEpochs"/> steps of the clipped objective
/// <c>max(−A ρ, −A clip(ρ, 1 ± ε))</c> plus <c>vf_coef</c> times the clipped value loss. Logs TRL's names per step:
/// <c>objective/kl</c> (the summed per-token KL of the samples), <c>objective/scores</c>,
/// <c>objective/non_score_reward</c>, <c>objective/rlhf_reward</c>, <c>loss/policy_avg</c>, <c>loss/value_avg</c>,
/// <c>policy/clipfrac_avg</c>, <c>val/clipfrac_avg</c>, and <c>objective/ground_truth</c> when a ground truth is given.
/// </summary>
public sealed class Ppo(CausalLM policy, CausalLM reference, ITokenizer tokenizer, IRewardFunction reward,
    PpoOptions options, IRewardFunction? groundTruth = null) : IDisposable
{
    private readonly int pad = PadRule.IdFor(tokenizer);
    private readonly Linear valueHead = RlRollouts.ValueHead(policy);

    /// <summary>Trains for <see cref="RlOptions.Steps"/> rounds on prompts drawn from <paramref name="prompts"/>; returns the per-step log.</summary>
    public IReadOnlyList<Dictionary<string, double>> Run(IReadOnlyList<string> prompts,
        Action<int, IReadOnlyDictionary<string, double>>? onStep = null)
    {
        var o = options.Rl;
        o.Validate();
        reference.eval();
        var parameters = policy.parameters().Concat(valueHead.parameters()).Where(p => p.requires_grad).ToList();
        using var optimizer = optim.AdamW(parameters, o.LearningRate);
        var log = new List<Dictionary<string, double>>();
        for (int step = 0; step < o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = RlRollouts.PromptsFor(prompts, step, o.PromptsPerStep, o.Seed);
            var groups = RlRollouts.Sample(policy, tokenizer, pad, batch, 1, o, o.Seed * 7919 + step);
            var rows = RlRollouts.Rows(groups);
            var device = policy.parameters().First().device;
            var scores = RlRollouts.Scores(groups, reward, device); // (R)
            Tensor oldLogps, oldValues, refLogps, mask;
            using (no_grad())
            {
                var old = RlRollouts.Forward(policy, valueHead, rows, pad);
                (oldLogps, oldValues, mask) = (old.LogProbs, old.Values!, old.Mask);
                refLogps = RlRollouts.Forward(reference, null, rows, pad).LogProbs;
            }
            var real = mask.to(ScalarType.Bool);
            var kl = where(real, oldLogps - refLogps, zeros_like(oldLogps)); // (R, Tc)
            var nonScore = -o.KlCoef * kl;
            var last = (mask.sum(1).to(ScalarType.Int64) - 1).unsqueeze(1); // (R, 1)
            var rewards = nonScore.scatter_add(1, last, scores.unsqueeze(1)); // score on each row's last token
            if (options.WhitenRewards) rewards = RlRollouts.MaskedWhiten(rewards, mask, shiftMean: false);
            var (advantages, returns) = Gae(rewards, where(real, oldValues, zeros_like(oldValues)), mask,
                options.Gamma, options.Lambda);
            advantages = RlRollouts.MaskedWhiten(advantages, mask);
            double policyLoss = 0, valueLoss = 0, clipFrac = 0, valueClipFrac = 0;
            for (int epoch = 0; epoch < o.PpoEpochs; epoch++)
            {
                using var epochScope = NewDisposeScope();
                optimizer.zero_grad();
                var now = RlRollouts.Forward(policy, valueHead, rows, pad);
                var (pg, pgClip) = ClippedPolicyLoss(now.LogProbs, oldLogps, advantages, mask, o.ClipRange);
                var (vf, vfClip) = ValueLoss(now.Values!, oldValues, returns, mask, options.ClipRangeValue);
                (pg + options.VfCoef * vf).backward();
                if (o.MaxGradNorm > 0) nn.utils.clip_grad_norm_(parameters, o.MaxGradNorm);
                optimizer.step();
                policyLoss += pg.to(ScalarType.Float64).item<double>() / o.PpoEpochs;
                valueLoss += vf.to(ScalarType.Float64).item<double>() / o.PpoEpochs;
                clipFrac += pgClip / o.PpoEpochs;
                valueClipFrac += vfClip / o.PpoEpochs;
            }
            var seqKl = kl.sum(1); // (R)
            var metrics = new Dictionary<string, double>
            {
                ["step"] = step + 1,
                ["objective/kl"] = seqKl.mean().to(ScalarType.Float64).item<double>(),
                ["objective/scores"] = scores.mean().to(ScalarType.Float64).item<double>(),
                ["objective/non_score_reward"] = nonScore.sum(1).mean().to(ScalarType.Float64).item<double>(),
                ["objective/rlhf_reward"] = (scores - o.KlCoef * seqKl).mean().to(ScalarType.Float64).item<double>(),
                ["loss/policy_avg"] = policyLoss,
                ["loss/value_avg"] = valueLoss,
                ["policy/clipfrac_avg"] = clipFrac,
                ["val/clipfrac_avg"] = valueClipFrac,
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
    /// Generalised advantage estimation over (R, T) per-token rewards and values, masked slots read as 0 (so the
    /// value after a completion's last token is 0): <c>δ_t = r_t + γ V_{t+1} − V_t</c>,
    /// <c>A_t = δ_t + γλ A_{t+1}</c>, returns <c>A + V</c>. Returns (advantages, returns), both (R, T), 0 where masked.
    /// </summary>
    public static (Tensor Advantages, Tensor Returns) Gae(Tensor rewards, Tensor values, Tensor mask, double gamma,
        double lambda)
    {
        using var scope = NewDisposeScope();
        var real = mask.to(ScalarType.Bool);
        var r = where(real, rewards, zeros_like(rewards));
        var v = where(real, values, zeros_like(values));
        long t = r.shape[1];
        var next = zeros_like(r[.., 0]); // (R): A_{t+1}
        var columns = new Tensor[t];
        for (long i = t - 1; i >= 0; i--)
        {
            var nextValue = i + 1 < t ? v[.., i + 1] : zeros_like(v[.., i]);
            var delta = r[.., i] + gamma * nextValue - v[.., i];
            next = delta + gamma * lambda * next;
            columns[i] = next;
        }
        var advantages = where(real, stack(columns, 1), zeros_like(r)); // T x (R) -> (R, T)
        var returns = where(real, advantages + v, zeros_like(r));
        return (advantages.MoveToOuterDisposeScope(), returns.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// PPO's clipped surrogate, masked token mean of <c>max(−A ρ, −A clip(ρ, 1 − ε, 1 + ε))</c>, ρ = e^(new − old);
    /// also the share of tokens where the clipped term is the larger (TRL's clipfrac).
    /// </summary>
    public static (Tensor Loss, double ClipFraction) ClippedPolicyLoss(Tensor newLogps, Tensor oldLogps,
        Tensor advantages, Tensor mask, double clip)
    {
        var ratio = (newLogps - oldLogps).exp();
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - clip, 1 + clip);
        var loss = RlRollouts.MaskedMean(maximum(unclipped, clipped), mask);
        double fraction = RlRollouts.MaskedMean((clipped > unclipped).to(ScalarType.Float32), mask).to(ScalarType.Float64).item<double>();
        return (loss, fraction);
    }

    /// <summary>
    /// The clipped value loss, masked token mean of <c>½ max((V − R)², (clip(V, V_old ± ε_v) − R)²)</c>; also the share of
    /// tokens where the clipped term is the larger.
    /// </summary>
    public static (Tensor Loss, double ClipFraction) ValueLoss(Tensor values, Tensor oldValues, Tensor returns,
        Tensor mask, double clip)
    {
        var clippedValues = oldValues + (values - oldValues).clamp(-clip, clip);
        var plain = (values - returns).square();
        var clipped = (clippedValues - returns).square();
        var loss = 0.5 * RlRollouts.MaskedMean(maximum(plain, clipped), mask);
        double fraction = RlRollouts.MaskedMean((clipped > plain).to(ScalarType.Float32), mask).to(ScalarType.Float64).item<double>();
        return (loss, fraction);
    }

    /// <summary>Releases the value head (the models belong to the caller).</summary>
    public void Dispose() => valueHead.Dispose();
}
