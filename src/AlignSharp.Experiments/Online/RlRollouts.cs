using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Online;

/// <summary>
/// Settings PPO and RLOO share (names as TRL's <c>PPOConfig</c> / <c>RLOOConfig</c> where they exist). Defaults in
/// one place.
/// </summary>
public sealed record RlOptions
{
    /// <summary>Optimizer steps (sampling rounds).</summary>
    public int Steps { get; init; } = 20;
    /// <summary>Prompts sampled per round.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Longest completion sampled (tokens, EOS included).</summary>
    public int MaxNewTokens { get; init; } = 16;
    /// <summary>Sampling temperature (1 samples the policy itself, which the KL estimate assumes).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>AdamW learning rate (constant).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Coefficient of the KL penalty to the reference (TRL's <c>kl_coef</c>).</summary>
    public double KlCoef { get; init; } = 0.05;
    /// <summary>PPO's ratio clip ε (TRL's <c>cliprange</c>).</summary>
    public double ClipRange { get; init; } = 0.2;
    /// <summary>Passes over each round's samples (TRL's <c>num_ppo_epochs</c>).</summary>
    public int PpoEpochs { get; init; } = 4;
    /// <summary>Gradient-norm clip (0 = off).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Seed of the prompt order and of every sample.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Fails on a value out of range, naming the setting.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new OnlineException($"steps must be >= 1, got {Steps}");
        if (PromptsPerStep < 1) throw new OnlineException($"prompts_per_step must be >= 1, got {PromptsPerStep}");
        if (MaxNewTokens < 1) throw new OnlineException($"max_new_tokens must be >= 1, got {MaxNewTokens}");
        if (!(Temperature > 0)) throw new OnlineException($"temperature must be > 0, got {Temperature}");
        if (!(LearningRate > 0)) throw new OnlineException($"learning_rate must be > 0, got {LearningRate}");
        if (!(KlCoef >= 0)) throw new OnlineException($"kl_coef must be >= 0, got {KlCoef}");
        if (!(ClipRange > 0)) throw new OnlineException($"cliprange must be > 0, got {ClipRange}");
        if (PpoEpochs < 1) throw new OnlineException($"num_ppo_epochs must be >= 1, got {PpoEpochs}");
    }
}

/// <summary>Per-token log-probs (and values) of sampled completions, right-padded: (R, Tc) each with a 0/1 mask.</summary>
/// <param name="LogProbs">log pi(token t | prefix) of each completion token (R, Tc); padded slots hold junk.</param>
/// <param name="Values">Value-head estimates at the state before each token (R, Tc), or null.</param>
/// <param name="Mask">1 on completion tokens (R, Tc).</param>
public sealed record TokenRollout(Tensor LogProbs, Tensor? Values, Tensor Mask);

/// <summary>
/// What PPO and RLOO share: one sampling round through the online loop's <see cref="Sampler"/>, the per-token forward
/// of policy (with an optional value head) and reference over the sampled rows, masked statistics, and the logged
/// KL. Legend: R rows (sampled completions), T padded row length, Tc longest completion, C hidden size, V vocabulary.
/// </summary>
public static class RlRollouts
{
    /// <summary>
    /// Samples <paramref name="perPrompt"/> completions of every prompt from the policy (temperature
    /// <see cref="RlOptions.Temperature"/>, full vocabulary), prompt-major: the rows of prompt p are p*k .. p*k+k-1.
    /// </summary>
    public static IReadOnlyList<SampleGroup> Sample(CausalLM policy, ITokenizer tokenizer, int pad,
        IReadOnlyList<string> prompts, int perPrompt, RlOptions options, long seed)
    {
        var section = new SampleSection
        {
            N = perPrompt, From = SampleSource.Policy, MaxNewTokens = options.MaxNewTokens,
            Temperature = options.Temperature, BatchSize = Math.Max(1, prompts.Count * perPrompt),
        };
        bool wasTraining = policy.training;
        policy.eval();
        try
        {
            return new Sampler(section, tokenizer, pad).Sample(prompts, policy, policy, seed).Groups;
        }
        finally
        {
            policy.train(wasTraining);
        }
    }

    /// <summary>
    /// One forward of <paramref name="model"/> over (prompt, completion) rows: the log-prob of every completion token
    /// and, with <paramref name="valueHead"/>, the value of the state it is sampled in (the hidden state one position
    /// before it), laid out (R, Tc). Gradients flow when enabled.
    /// </summary>
    public static TokenRollout Forward(CausalLM model, Linear? valueHead,
        IReadOnlyList<(int[] Prompt, int[] Completion)> rows, int pad)
    {
        using var scope = NewDisposeScope();
        var device = model.parameters().First().device;
        var padded = RowCollator.RightPad(rows, pad, device);
        var hidden = model.ForwardHidden(padded.InputIds, padded.AttentionMask, padded.PositionIds); // (R, T, C)
        long r = rows.Count, t = padded.InputIds.shape[1], c = hidden.shape[2];
        int width = Math.Max(1, rows.Max(x => x.Completion.Length)); // Tc
        var start = tensor(rows.Select(x => (long)x.Prompt.Length - 1).ToArray(), device: device).unsqueeze(1); // (R, 1)
        var offsets = arange(width, ScalarType.Int64, device).unsqueeze(0); // (1, Tc)
        var at = (start + offsets).clamp_max(t - 2); // (R, Tc): the position whose output predicts token t
        var lengths = tensor(rows.Select(x => (long)x.Completion.Length).ToArray(), device: device).unsqueeze(1);
        var mask = (offsets < lengths).to(ScalarType.Float32); // (R, Tc)
        var states = hidden.gather(1, at.unsqueeze(2).expand(r, width, c)); // (R, T, C) -> (R, Tc, C)
        var targets = padded.InputIds.gather(1, at + 1); // (R, Tc)
        var logits = model.LmHead(states).to(ScalarType.Float32); // (R, Tc, V)
        var logps = F.log_softmax(logits, 2).gather(2, targets.unsqueeze(2)).squeeze(2); // (R, Tc, 1) -> (R, Tc)
        var values = valueHead?.call(states).squeeze(2).to(ScalarType.Float32); // (R, Tc, 1) -> (R, Tc)
        return new TokenRollout(logps.MoveToOuterDisposeScope(), values?.MoveToOuterDisposeScope(),
            mask.MoveToOuterDisposeScope());
    }

    /// <summary>Mean of <paramref name="x"/> over the mask's 1s.</summary>
    public static Tensor MaskedMean(Tensor x, Tensor mask) =>
        where(mask.to(ScalarType.Bool), x, zeros_like(x)).sum() / mask.sum().clamp_min(1);

    /// <summary>
    /// Whitening over the mask's 1s as TRL's <c>masked_whiten</c>: (x − mean) / sqrt(var + 1e-8) with the unbiased
    /// variance; with <paramref name="shiftMean"/> false the mean is added back (only the scale changes). Masked-out
    /// slots are returned as 0.
    /// </summary>
    public static Tensor MaskedWhiten(Tensor x, Tensor mask, bool shiftMean = true)
    {
        var real = mask.to(ScalarType.Bool);
        var mean = MaskedMean(x, mask);
        var n = mask.sum();
        var centred = where(real, x - mean, zeros_like(x));
        var variance = centred.square().sum() / (n - 1).clamp_min(1); // Bessel's correction, as TRL's masked_var
        var whitened = (x - mean) * (variance + 1e-8).rsqrt();
        if (!shiftMean) whitened = whitened + mean;
        return where(real, whitened, zeros_like(x));
    }

    /// <summary>A (R) double tensor of per-row scores, in row order.</summary>
    public static Tensor Scores(IReadOnlyList<SampleGroup> groups, IRewardFunction reward, Device device) =>
        tensor(groups.SelectMany(g => g.Candidates.Select(c => reward.Score(g.Prompt, c.Text))).ToArray(),
            ScalarType.Float32, device);

    /// <summary>The (prompt ids, completion ids) rows of <paramref name="groups"/>, prompt-major.</summary>
    public static List<(int[] Prompt, int[] Completion)> Rows(IReadOnlyList<SampleGroup> groups) =>
        [.. groups.SelectMany(g => g.Candidates.Select(c => (g.PromptIds, c.Ids)))];

    /// <summary>The next <paramref name="count"/> prompts of a seeded shuffle of <paramref name="pool"/>, cycling.</summary>
    public static IReadOnlyList<string> PromptsFor(IReadOnlyList<string> pool, int step, int count, long seed)
    {
        if (pool.Count == 0) throw new OnlineException("no prompts to sample from");
        var order = Enumerable.Range(0, pool.Count).ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        return [.. Enumerable.Range(step * count, count).Select(i => pool[order[i % pool.Count]])];
    }

    /// <summary>A value head on <paramref name="policy"/>'s hidden states: Linear(C, 1), zero-initialised, on its device.</summary>
    public static Linear ValueHead(CausalLM policy)
    {
        var first = policy.parameters().First();
        var head = nn.Linear(policy.Config.HiddenSize, 1);
        using (no_grad())
        {
            head.weight!.zero_();
            head.bias!.zero_();
        }
        head.to(first.dtype).to(first.device);
        return head;
    }
}
