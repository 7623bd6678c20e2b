using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// OREO, "Offline Reinforcement Learning for LLM Multi-Step Reasoning" (Wang et al. 2024,
/// https://arxiv.org/abs/2412.16145, code jwhj/OREO <c>pcl_trainer.py</c>): a soft-Bellman (path consistency)
/// residual per state, <c>e[t] = β Σ_{i≥t} m[i](lp[i] − lr[i]) + V(s_t) − R</c>, and
/// <c>loss = Σ_t sm[t] e[t]² / Σ_t sm[t] + kl_reg · Σ_t m[t] k[t] / Σ_t m[t]</c>, sm = the state mask (every token
/// for the token-level MDP, each step's first token for the step-level one), k = the given per-token KL or the k3
/// estimate <c>exp(lr − lp) − (lr − lp) − 1</c>. <see cref="Compute"/> is the policy (actor) loss: values detached
/// and, at each state, only the tokens up to the next state carry gradient (the tail beyond is detached; token-level:
/// token t alone). <see cref="CriticLosses"/> is the value model's loss: the first term with the policy detached.
/// Intuition: the implicit reward β log π/π_ref plus a learned value must account for the final outcome from every
/// state, which assigns credit to individual steps from a single 0/1 reward.
/// </summary>
public sealed class Oreo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.03);
    private static readonly NumberParameter KlRegParam = new("kl_reg", 0.01,
        "weight of the per-token KL to the reference (0 drops the term)", Interval.NonNegative);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "oreo", "OREO: soft-Bellman residual with a value head, for multi-step reasoning",
        "https://arxiv.org/abs/2412.16145",
        "mean_states (beta sum_{i>=t} m (lp-lr) + V(s_t) - R)^2 + kl_reg mean_tokens k; k = token_kl or "
            + "exp(lr-lp)-(lr-lp)-1",
        [BetaParam, KlRegParam],
        p => new Oreo(p.Get(BetaParam), p.Get(KlRegParam)))
    {
        Data = "`outcome` records (prompt, `steps` list: step-level states, or `solution` text: token-level states; "
            + "`reward`); a value head V = w.h + b on the policy's hidden state before each token trains beside the "
            + "policy (critic loss, hidden states detached) and is saved as value_head.safetensors",
    };

    /// <summary>Values, state positions, outcome rewards and optional exact KL.</summary>
    public static OreoInputs Targets { get; } = new();

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [TokenLevelInputs.SingleTokens, Targets];

    /// <summary>Creates OREO.</summary>
    public Oreo(double beta, double klReg)
    {
        Beta = BetaParam.Check(Id, beta);
        KlReg = KlRegParam.Check(Id, klReg);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>KL weight.</summary>
    public double KlReg { get; }

    /// <inheritdoc />
    public string Id => "oreo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <summary>
    /// The policy loss per trajectory (B), with the value model's loss (<see cref="CriticLosses"/>) as
    /// <see cref="ObjectiveOutput.AuxiliaryLosses"/>, so a trainer fits both (metrics <c>policy_loss</c>,
    /// <c>value_loss</c>). Rewards: <c>rewards/chosen</c> is each trajectory's implicit reward β Σ (lp − lr); there
    /// is no second response, so <c>rewards/rejected</c> is 0.
    /// </summary>
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var x = Read(s);
        var q = TokenInputs.Select(x.Mask, x.Policy - x.Reference); // (B, T)
        var tail = Tail(q); // (B, T): Σ_{i≥t} q[i]
        var own = OwnSegment(q, x.States); // (B, T): Σ of q from t up to the next state
        var actorTail = tail.detach() + (own - own.detach()); // value of tail, gradient of own segment only
        var residual = Beta * actorTail + x.Values.detach() - x.Rewards.unsqueeze(1); // (B) -> (B, 1) vs (B, T)
        var losses = StateMean(residual, x.States);
        if (KlReg > 0)
        {
            var k = x.TokenKl is { } kl
                ? TokenInputs.Values(Id, "token_kl", kl, x.Mask)
                : K3(x.Policy, x.Reference, x.Mask);
            losses = losses + KlReg * TokenInputs.Sum(k, x.Mask) / x.Mask.sum(1).to(k.dtype);
        }
        var reward = (Beta * tail[.., 0]).detach(); // Σ over all tokens = tail at t = 0
        var critic = CriticLosses(s);
        return new ObjectiveOutput(losses, reward, zeros_like(reward))
        {
            AuxiliaryLosses = critic,
            Metrics = new Dictionary<string, Tensor>
            {
                ["policy_loss"] = losses.mean().detach(), ["value_loss"] = critic.mean().detach(),
            },
        };
    }

    /// <summary>The value model's loss per trajectory (B): the residual's state mean with the policy
    /// detached.</summary>
    public Tensor CriticLosses(PairStats s)
    {
        var x = Read(s);
        var q = TokenInputs.Select(x.Mask, x.Policy - x.Reference).detach();
        var residual = Beta * Tail(q) + x.Values - x.Rewards.unsqueeze(1); // (B) -> (B, 1) vs (B, T)
        return StateMean(residual, x.States);
    }

    private sealed record Checked(
        Tensor Policy, Tensor Reference, Tensor Mask, Tensor Values, Tensor States, Tensor Rewards, Tensor? TokenKl);

    private Checked Read(PairStats s)
    {
        var tokens = s.Get(TokenLevelInputs.SingleTokens, Id);
        var targets = s.Get(Targets, Id);
        var reference = tokens.Reference
            ?? throw new ObjectiveException($"objective '{Id}' needs per-token reference log-probs");
        var mask = TokenInputs.Mask(Id, "mask", tokens.Mask, 2, rows: s.Count);
        var states = TokenInputs.Mask(Id, "state_mask", targets.StateMask, 2, mask);
        if ((states & mask.logical_not()).any().item<bool>())
            throw new ObjectiveException($"objective '{Id}': input 'state_mask' must be 0 wherever 'mask' is 0");
        if (states.sum(1).eq(0).any().item<bool>())
            throw new ObjectiveException($"objective '{Id}': every row needs at least one state (state_mask all 0)");
        var rewards = TokenInputs.Values(Id, "rewards", targets.Rewards, ones(mask.shape[0], ScalarType.Bool));
        return new Checked(
            TokenInputs.Values(Id, "policy_token_logps", tokens.Policy, mask),
            TokenInputs.Values(Id, "reference_token_logps", reference, mask),
            mask,
            TokenInputs.Select(states, TokenInputs.Values(Id, "values", targets.Values, states)),
            states,
            rewards,
            targets.TokenKl);
    }

    /// <summary>Σ_t sm e² / Σ_t sm (B).</summary>
    private static Tensor StateMean(Tensor residual, Tensor states) =>
        TokenInputs.Sum(residual.square(), states) / states.sum(1).to(residual.dtype);

    /// <summary>Suffix sums Σ_{i≥t} q[i] (B, T).</summary>
    private static Tensor Tail(Tensor q) => q.flip(1).cumsum(1).flip(1);

    /// <summary>For each t, the sum of q over the tokens of the segment t lies in (segments start at states) (B,
    /// T).</summary>
    private static Tensor OwnSegment(Tensor q, Tensor states)
    {
        var segment = states.to(ScalarType.Int64).cumsum(1); // (B, T): 0 before the first state, then 1, 2, ...
        var sums = zeros(q.shape[0], q.shape[1] + 1, q.dtype, q.device).scatter_add(1, segment, q); // (B, T+1)
        return sums.gather(1, segment); // (B, T)
    }

    /// <summary>k3 = exp(lr − lp) − (lr − lp) − 1 per token, 0 where the mask is 0.</summary>
    private static Tensor K3(Tensor lp, Tensor lr, Tensor mask)
    {
        var d = TokenInputs.Select(mask, lr - lp);
        return TokenInputs.Select(mask, d.exp() - d - 1);
    }
}
