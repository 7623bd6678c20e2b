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
/// Reading and checking per-token inputs (the keys of the token-level golden schema, spec
/// objectives-tokenlevel.md) from <see cref="PairStats.Extras"/>, and the masked arithmetic every token-level
/// objective shares. Masked slots are read with select (<c>m ? v : 0</c>), never multiplication, so non-finite
/// padding cannot leak. Every problem is an <see cref="ObjectiveException"/> naming the objective and the key.
/// Legend: B pairs (or prompts), N responses per prompt, T tokens, H hidden size.
/// </summary>
internal static class TokenInputs
{
    /// <summary>The per-token log-probs, reference log-probs and mask of side <paramref name="side"/> (chosen|rejected).</summary>
    public static TokenSide Side(PairStats s, string objective, string side, bool reference = true)
    {
        var mask = Mask(s, objective, $"{side}_mask", dims: 2);
        return new TokenSide(
            Values(s, objective, $"policy_{side}_token_logps", mask),
            reference ? Values(s, objective, $"reference_{side}_token_logps", mask) : null,
            mask);
    }

    /// <summary>The extra <paramref name="key"/>, or an error naming the objective and key.</summary>
    public static Tensor Require(PairStats s, string objective, string key) =>
        s.Extras.TryGetValue(key, out var t) ? t
            : throw new ObjectiveException($"objective '{objective}' needs the per-token input '{key}'");

    /// <summary>A 0/1 array of <paramref name="dims"/> dimensions whose first has the batch's size, as bool.</summary>
    public static Tensor Mask(PairStats s, string objective, string key, int dims, Tensor? like = null)
    {
        var t = Require(s, objective, key);
        CheckShape(objective, key, t, dims, like);
        if (like is null && t.shape[0] != s.Count)
            throw new ObjectiveException($"objective '{objective}': input '{key}' has {t.shape[0]} rows, the batch {s.Count}");
        if ((t.ne(0) & t.ne(1)).any().item<bool>())
            throw new ObjectiveException($"objective '{objective}': input '{key}' must hold only 0 and 1");
        return t.ne(0);
    }

    /// <summary>Real values of the mask's shape, finite wherever the mask is 1.</summary>
    public static Tensor Values(PairStats s, string objective, string key, Tensor mask)
    {
        var t = Require(s, objective, key);
        CheckShape(objective, key, t, (int)mask.dim(), mask);
        var bad = mask & t.isfinite().logical_not();
        if (bad.any().item<bool>())
        {
            var at = bad.nonzero()[0].data<long>().ToArray();
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' at [{string.Join(", ", at)}] is not finite where the mask is 1");
        }
        return t;
    }

    /// <summary>
    /// Integer values of the given shape (ids, counts, lengths stored as numbers), as int64; where
    /// <paramref name="mask"/> is given only those slots are checked (the rest may hold -1 padding).
    /// </summary>
    public static Tensor Integers(PairStats s, string objective, string key, int dims, Tensor? like = null,
        Tensor? mask = null, long min = long.MinValue)
    {
        var t = Require(s, objective, key);
        CheckShape(objective, key, t, dims, like);
        var check = mask ?? ones_like(t, ScalarType.Bool);
        var wrong = check & (t.isfinite().logical_not() | t.ne(t.round()) | t.lt(min));
        if (wrong.any().item<bool>())
        {
            var at = wrong.nonzero()[0].data<long>().ToArray();
            string requirement = min == long.MinValue ? "an integer" : $"an integer >= {min}";
            throw new ObjectiveException($"objective '{objective}': input '{key}' at [{string.Join(", ", at)}] must be {requirement}");
        }
        return where(check, t, zeros_like(t)).to(ScalarType.Int64);
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
        string Shape(Tensor x) => $"({string.Join(", ", x.shape)})";
        if (t.dim() != dims)
            throw new ObjectiveException($"objective '{objective}': input '{key}' must have {dims} dimension(s), got {Shape(t)}");
        if (like is not null && !t.shape.SequenceEqual(like.shape.Take(dims)))
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' has shape {Shape(t)}, expected ({string.Join(", ", like.shape.Take(dims))})");
    }
}
