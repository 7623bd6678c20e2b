using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// One response side of a batch, token by token: policy and reference log-probs (B, T) and the label mask (B, T),
/// bool, 1 = a completion token that counts. Values where the mask is 0 are padding and are never read.
/// </summary>
internal sealed record TokenSide(Tensor Policy, Tensor? Reference, Tensor Mask)
{
    /// <summary>Per-token log-ratio lp − lr, 0 where the mask is 0 (B, T).</summary>
    public Tensor Ratio => TokenInputs.Select(Mask, Policy - Reference!);
}

/// <summary>
/// Checking per-token inputs (named by their keys in the token-level golden schema, spec
/// objectives-tokenlevel.md) and the masked arithmetic every token-level objective shares. Masked slots are read with
/// select (<c>m ? v : 0</c>), never multiplication, so non-finite
/// padding cannot leak. Every problem is an <see cref="ObjectiveException"/> naming the objective and the key.
/// Legend: B pairs (or prompts), N responses per prompt, T tokens, H hidden size.
/// </summary>
internal static class TokenInputs
{
    /// <summary>Both sides of <see cref="TokenLogProbs"/>, checked; the reference is required when asked for.</summary>
    public static (TokenSide Chosen, TokenSide Rejected) Sides(PairStats s, string objective, bool reference = true)
    {
        var t = s.Get(TokenLevelInputs.PairTokens, objective);
        if (reference) t.RequireReference(objective);
        var mw = Mask(objective, "chosen_mask", t.ChosenMask, 2, rows: s.Count);
        var ml = Mask(objective, "rejected_mask", t.RejectedMask, 2, rows: s.Count);
        return (
            new TokenSide(Values(objective, "policy_chosen_token_logps", t.PolicyChosen, mw),
                reference ? Values(objective, "reference_chosen_token_logps", t.ReferenceChosen!, mw) : null, mw),
            new TokenSide(Values(objective, "policy_rejected_token_logps", t.PolicyRejected, ml),
                reference ? Values(objective, "reference_rejected_token_logps", t.ReferenceRejected!, ml) : null, ml));
    }

    /// <summary>
    /// A 0/1 array of <paramref name="dims"/> dimensions, shaped like <paramref name="like"/> (or with
    /// <paramref name="rows"/> rows), as bool.
    /// </summary>
    public static Tensor Mask(string objective, string key, Tensor t, int dims, Tensor? like = null, long rows = -1)
    {
        CheckShape(objective, key, t, dims, like);
        if (rows >= 0 && t.shape[0] != rows)
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' has {t.shape[0]} rows, the batch {rows}");
        if ((t.ne(0) & t.ne(1)).any().item<bool>())
            throw new ObjectiveException($"objective '{objective}': input '{key}' must hold only 0 and 1");
        return t.dtype == ScalarType.Bool ? t : t.ne(0);
    }

    /// <summary>Real values of the mask's shape, finite wherever the mask is 1.</summary>
    public static Tensor Values(string objective, string key, Tensor t, Tensor mask)
    {
        CheckShape(objective, key, t, (int)mask.dim(), mask);
        var bad = mask & t.isfinite().logical_not();
        if (bad.any().item<bool>())
        {
            var at = bad.nonzero()[0].data<long>().ToArray();
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' at [{string.Join(", ", at)}] is not finite where the mask "
                + "is 1");
        }
        return t;
    }

    /// <summary>
    /// Integer values of the given shape (ids, counts, lengths stored as numbers), as int64; where
    /// <paramref name="mask"/> is given only those slots are checked (the rest may hold -1 padding) and read.
    /// </summary>
    public static Tensor Integers(string objective, string key, Tensor t, int dims, Tensor? like = null,
        Tensor? mask = null, long min = long.MinValue)
    {
        CheckShape(objective, key, t, dims, like);
        var check = mask ?? ones_like(t, ScalarType.Bool);
        var real = t.to(ScalarType.Float64);
        var wrong = check & (real.isfinite().logical_not() | real.ne(real.round()) | real.lt(min));
        if (wrong.any().item<bool>())
        {
            var at = wrong.nonzero()[0].data<long>().ToArray();
            string requirement = min == long.MinValue ? "an integer" : $"an integer >= {min}";
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' at [{string.Join(", ", at)}] must be {requirement}");
        }
        return where(check, real, zeros_like(real)).to(ScalarType.Int64);
    }

    /// <summary><c>m ? v : 0</c>.</summary>
    public static Tensor Select(Tensor mask, Tensor v) => where(mask, v, zeros_like(v));

    /// <summary>Masked sum over the last dimension: S(v, k) = Σ_t k[t] v[t] (…, T) -> (…).</summary>
    public static Tensor Sum(Tensor v, Tensor k) => Select(k, v).sum(-1);

    /// <summary>
    /// DPO on aggregates: losses −log σ(β[(a − b) − (c − d)]) and the implicit rewards β(a − b), β(c − d)
    /// (detached).
    /// </summary>
    public static ObjectiveOutput Dpo(double beta, Tensor a, Tensor b, Tensor c, Tensor d)
    {
        var cw = a - b;
        var cl = c - d;
        return new ObjectiveOutput(-F.logsigmoid(beta * (cw - cl)), (beta * cw).detach(), (beta * cl).detach());
    }

    /// <summary>DPO on masked per-token sums with counted tokens kw, kl (B, T) for the two sides.</summary>
    public static ObjectiveOutput MaskedDpo(double beta, TokenSide w, TokenSide l, Tensor kw, Tensor kl) =>
        Dpo(beta, Sum(w.Policy, kw), Sum(w.Reference!, kw), Sum(l.Policy, kl), Sum(l.Reference!, kl));

    /// <summary>Position index t broadcast to <paramref name="like"/>'s shape (B, T) as int64.</summary>
    public static Tensor Positions(Tensor like) =>
        arange(like.shape[^1], ScalarType.Int64, like.device).expand(like.shape); // (T) -> (B, T)

    private static void CheckShape(string objective, string key, Tensor t, int dims, Tensor? like)
    {
        static string Shape(IEnumerable<long> x) => $"({string.Join(", ", x)})";
        if (t.dim() != dims)
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' must have {dims} dimension(s), got {Shape(t.shape)}");
        if (like is not null && !t.shape.SequenceEqual(like.shape.Take(dims)))
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' has shape {Shape(t.shape)}, "
                + $"expected {Shape(like.shape.Take(dims))}");
    }
}
