using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// TPO, "Aligning LLMs with Multi-branch &amp; Multi-step Preference Trees" (Liao et al. 2024,
/// https://arxiv.org/abs/2410.12854, code MrBlankness/TPO). Per prompt, N scored responses split in steps
/// (response 0 = the best-scored anchor). Step weight <c>w(n,k) = cos(h̄(n,k), h̄(0,k)) + 1</c> (mean last-layer
/// hidden states of step k; 0 when either response lacks the step); response score
/// <c>s(n) = Σ_k w(n,k) mean_{t∈k} (lp − lr) / Σ_k w(n,k)</c> (0 if the weights sum to 0), with gradient through
/// the weights. <c>form = pairwise</c>: mean over ordered pairs with score_i &gt; score_j of
/// <c>−log σ(β (s_i − s_j))</c> (0 if none; our construction, PROVISIONAL in the spec);
/// <c>form = code</c> (the released loss): <c>R = Σ_{i,j} −log σ((s_i − s_j) sign(score_i − score_j)) / (N(N−1))</c>
/// over all (i, j) including i = j, loss <c>−log σ(β R)</c>.
/// Intuition: rank a whole tree of responses at once, comparing them step by step where their steps are alike.
/// </summary>
public sealed class Tpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.5);
    private static readonly ChoiceParameter FormParam = new("form", "pairwise",
        "pairwise: logistic ranking over ordered pairs (provisional); code: the released loss.py arithmetic "
            + "(minimising -ls(beta R) raises the ranking loss R, so it trains the ranking backwards: reproduction "
            + "only)",
        ["pairwise", "code"]);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "tpo", "TPO: preference-tree ranking of N step-split responses", "https://arxiv.org/abs/2410.12854",
        "s(n) = sum_k w(n,k) mean_k(lp-lr) / sum_k w(n,k), w = cos(hidden step means vs response 0) + 1; "
        + "pairwise: mean_{score_i>score_j} -ls(beta(s_i-s_j)); code: -ls(beta R)",
        [BetaParam, FormParam],
        p => new Tpo(p.Get(BetaParam), p.Get(FormParam) == "code"))
    {
        Data = "`tree` records (prompt, N >= 2 responses as lists of steps, scores; the same N in every record), "
            + "batched as N rows per prompt; step ids clipped to the shortest response",
    };

    /// <summary>N scored, step-split responses per prompt with per-token log-probs and hidden states.</summary>
    public static ResponseTreeInputs Tree { get; } = new();

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [Tree];

    /// <summary>Creates TPO.</summary>
    public Tpo(double beta, bool codeForm)
    {
        Beta = BetaParam.Check(Id, beta);
        CodeForm = codeForm;
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>True for the released code's ranking loss, false for the pairwise form.</summary>
    public bool CodeForm { get; }

    /// <inheritdoc />
    public string Id => "tpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var tree = s.Get(Tree, Id);
        var mask = TokenInputs.Mask(Id, "response_mask", tree.Mask, 3); // (B, N, T)
        if (mask.shape[1] < 2) throw new ObjectiveException($"objective '{Id}': needs at least 2 responses per prompt");
        var lp = TokenInputs.Values(Id, "policy_token_logps", tree.Policy, mask);
        var lr = TokenInputs.Values(Id, "reference_token_logps", tree.Reference, mask);
        var steps = TokenInputs.Integers(Id, "step_ids", tree.StepIds, 3, mask, mask, min: 0); // (B, N, T)
        var hidden = Hidden(tree.Hidden, mask); // (B, N, T, H)
        var all = ones(mask.shape[0], mask.shape[1], ScalarType.Bool); // (B, N)
        var scores = TokenInputs.Values(Id, "scores", tree.Scores, all); // (B, N)
        var score = Scores(TokenInputs.Select(mask, lp - lr), mask, steps, hidden); // (B, N)

        var diff = score.unsqueeze(2) - score.unsqueeze(1); // (B, N, 1) - (B, 1, N) -> (B, N, N): s_i - s_j
        var better = scores.unsqueeze(2) - scores.unsqueeze(1); // (B, N, N): score_i - score_j
        Tensor losses;
        if (CodeForm)
        {
            long n = score.shape[1];
            var rank = (-F.logsigmoid(diff * better.sign())).sum([1, 2]) / (n * (n - 1)); // (B)
            losses = -F.logsigmoid(Beta * rank);
        }
        else
        {
            var ordered = better.gt(0); // (B, N, N)
            var terms = TokenInputs.Select(ordered, -F.logsigmoid(Beta * diff));
            losses = terms.sum([1, 2]) / ordered.sum([1, 2]).clamp_min(1).to(terms.dtype);
        }
        var worst = scores.argmin(1, keepdim: true); // (B, 1)
        var worstScore = score.gather(1, worst).squeeze(1); // (B, 1) -> (B)
        return new ObjectiveOutput(losses, (Beta * score[.., 0]).detach(), (Beta * worstScore).detach());
    }

    /// <summary>Response scores s(n) (B, N) from masked log-ratios q, step ids and hidden states.</summary>
    private static Tensor Scores(Tensor q, Tensor mask, Tensor steps, Tensor hidden)
    {
        long k = TokenInputs.Select(mask, steps).amax().item<long>();
        var weights = new List<Tensor>();
        var means = new List<Tensor>();
        for (long step = 1; step <= k; step++)
        {
            var inStep = mask & steps.eq(step); // (B, N, T)
            var count = inStep.sum(-1).to(q.dtype); // (B, N)
            var safeCount = count.clamp_min(1);
            means.Add(TokenInputs.Sum(q, inStep) / safeCount); // (B, N)
            // (B, N, T, H) -> (B, N, H): mean hidden state of the step
            var h = TokenInputs.Select(inStep.unsqueeze(3), hidden).sum(2) / safeCount.unsqueeze(2);
            var anchor = h[.., ..1, ..]; // (B, 1, H): response 0's step mean
            var norms = (h.norm(-1) * anchor.norm(-1)).clamp_min(1e-30); // (B, N)
            var cosine = (h * anchor).sum(-1) / norms; // (B, N)
            var both = count.gt(0) & count[.., ..1].gt(0); // (B, N): both responses have step k
            weights.Add(TokenInputs.Select(both, cosine + 1));
        }
        if (k == 0) return zeros(q.shape[0], q.shape[1], q.dtype, q.device);
        var w = stack(weights, 2); // (B, N, K)
        var m = stack(means, 2); // (B, N, K)
        var total = w.sum(-1); // (B, N)
        var positive = total.gt(0);
        return TokenInputs.Select(positive, (w * m).sum(-1) / where(positive, total, ones_like(total)));
    }

    private Tensor Hidden(Tensor h, Tensor mask)
    {
        if (h.dim() != 4 || !h.shape.Take(3).SequenceEqual(mask.shape))
            throw new ObjectiveException(
                $"objective '{Id}': input 'hidden_states' must have shape ({string.Join(", ", mask.shape)}, H), "
                + $"got ({string.Join(", ", h.shape)})");
        if ((mask.unsqueeze(3) & h.isfinite().logical_not()).any().item<bool>())
            throw new ObjectiveException($"objective '{Id}': input 'hidden_states' is not finite where the mask is 1");
        return h;
    }
}
