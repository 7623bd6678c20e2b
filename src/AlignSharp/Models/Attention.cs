using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>Attention masking shared by every family.</summary>
public static class Attention
{
    /// <summary>
    /// Additive mask (B, 1, Tq, Tk): 0 where query t may see key s (s &lt;= t + offset and mask[s] != 0), the dtype's
    /// lowest value elsewhere. A finite lowest value (not -inf) keeps fully masked pad queries NaN-free.
    /// </summary>
    /// <remarks>
    /// With <paramref name="slidingWindow"/> w, query t also needs t - s &lt; w (Mistral's window). The mask may hold
    /// segment numbers instead of 1 (packed rows, <c>Training.RowPacking</c>): a real query then sees only keys of its
    /// own segment, which makes the mask block-diagonal causal; a pad query (0) sees every real key, as with a 0/1 mask,
    /// so for 0/1 masks the rule is the plain one.
    /// </remarks>
    public static Tensor AdditiveMask(Tensor attentionMask, long queryLength, ScalarType dtype, int? slidingWindow = null)
    {
        long keys = attentionMask.shape[1];
        long offset = keys - queryLength; // queries are the last queryLength positions
        using var ones = torch.ones(queryLength, keys, ScalarType.Bool, attentionMask.device);
        using var causal = ones.tril(offset); // (Tq, Tk): s <= t
        if (slidingWindow is int w)
        {
            using var recent = ones.triu(offset - w + 1); // t - s < w
            causal.logical_and_(recent);
        }
        using var keyOk = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, Tk) -> (B, 1, 1, Tk)
        using var allowed = causal.unsqueeze(0).unsqueeze(0).logical_and(keyOk); // (B, 1, Tq, Tk)
        using var segments = attentionMask.to(ScalarType.Int64); // (B, Tk)
        if (segments.numel() > 0 && segments.max().item<long>() > 1) // segment numbers: block-diagonal
        {
            using var querySeg = segments.narrow(1, offset, queryLength); // (B, Tq)
            using var same = querySeg.unsqueeze(2).eq(segments.unsqueeze(1)); // (B, Tq, 1) == (B, 1, Tk) -> (B, Tq, Tk)
            using var padQuery = querySeg.eq(0).unsqueeze(2); // (B, Tq, 1)
            using var own = same.logical_or(padQuery).unsqueeze(1); // (B, 1, Tq, Tk)
            allowed.logical_and_(own);
        }
        using var zero = torch.zeros(1, dtype, attentionMask.device);
        using var low = torch.full(1, torch.finfo(dtype).min, dtype, attentionMask.device);
        return torch.where(allowed, zero, low);
    }
}
