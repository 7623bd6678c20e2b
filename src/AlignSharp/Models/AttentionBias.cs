using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models;

/// <summary>
/// What the queries of one forward may attend to, handed to every attention layer. Either an additive mask
/// (B, 1, Tq, Tk) from <see cref="Attention.AdditiveMask"/> (padded rows, KV-cached decoding, block-diagonal packed
/// rows), or the segment lengths of one packed row (1, N) holding independent sequences back to back
/// (variable-length attention, <see cref="CausalLM.ForwardSegments"/>): each segment runs its own causal
/// scaled-dot-product attention, so attention costs sum(L_i^2) instead of N^2 and no (N, N) mask is ever built.
/// </summary>
public sealed class AttentionBias
{
    private readonly long[]? segments;
    private readonly int? window;

    private AttentionBias(Tensor? mask, long[]? segments, int? window)
    {
        Mask = mask;
        this.segments = segments;
        this.window = window;
    }

    /// <summary>An additive mask (B, 1, Tq, Tk); the caller keeps ownership.</summary>
    public static AttentionBias Additive(Tensor mask) => new(mask, null, null);

    /// <summary>
    /// Segments of one packed row: segment i is the next <paramref name="lengths"/>[i] positions (they sum to the row's
    /// length); with <paramref name="window"/> w a query also needs t - s &lt; w (Mistral's sliding window).
    /// </summary>
    public static AttentionBias Segmented(IReadOnlyList<long> lengths, int? window = null)
    {
        if (lengths.Any(l => l <= 0)) throw new ArgumentException("segment lengths must be positive", nameof(lengths));
        return new(null, [.. lengths], window);
    }

    /// <summary>The additive mask, or null for segments.</summary>
    public Tensor? Mask { get; }

    /// <summary>The tensors a checkpointed block must keep for its recomputation (the mask, if any).</summary>
    public Tensor[] Tensors => Mask is null ? [] : [Mask];

    /// <summary>The same bias over <paramref name="tensors"/> (what <see cref="Tensors"/> returned, as kept by a checkpoint).</summary>
    public AttentionBias Rebind(Tensor[] tensors) => Mask is null ? this : Additive(tensors[0]);

    /// <summary>
    /// Scaled-dot-product attention: q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D). For segments B = 1 and
    /// Tq = Tk = N. Backward runs through autograd (split's backward concatenates the segments' gradients).
    /// </summary>
    public Tensor Attend(Tensor q, Tensor k, Tensor v)
    {
        if (Mask is not null) return F.scaled_dot_product_attention(q, k, v, Mask);
        using var scope = NewDisposeScope();
        var qs = q.split(segments!, 2); // (1, H, N, D) -> S x (1, H, L_i, D)
        var ks = k.split(segments!, 2);
        var vs = v.split(segments!, 2);
        var ys = new Tensor[segments!.Length];
        for (int i = 0; i < ys.Length; i++)
        {
            long length = segments[i];
            if (window is int w && length > w)
            {
                // A segment longer than the window needs the window's band; only such segments build a mask (L_i, L_i).
                using var ones = torch.ones(1, length, ScalarType.Int64, q.device);
                using var band = Attention.AdditiveMask(ones, length, q.dtype, w); // (1, 1, L_i, L_i)
                ys[i] = F.scaled_dot_product_attention(qs[i], ks[i], vs[i], band);
            }
            else ys[i] = F.scaled_dot_product_attention(qs[i], ks[i], vs[i], is_casual: true); // (1, H, L_i, D)
        }
        return torch.cat(ys, 2).MoveToOuterDisposeScope(); // S x (1, H, L_i, D) -> (1, H, N, D)
    }
}
