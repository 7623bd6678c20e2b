using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models;

/// <summary>
/// What the queries of one forward may attend to, handed to every attention layer. Either an additive mask
/// (B, 1, Tq, Tk) from <see cref="Attention.AdditiveMask"/> (padded rows, KV-cached decoding, block-diagonal packed
/// rows), or the <see cref="SegmentGroup"/>s of one packed row (1, N) (variable-length attention,
/// <see cref="CausalLM.ForwardSegments"/>): each segment, and each branch with its group's prefix, runs its own causal
/// scaled-dot-product attention, so attention costs about sum(L_i^2) instead of N^2 and no (N, N) mask is ever built.
/// </summary>
public sealed class AttentionBias
{
    private readonly IReadOnlyList<SegmentGroup>? groups;
    private readonly int? window;

    private AttentionBias(Tensor? mask, IReadOnlyList<SegmentGroup>? groups, int? window)
    {
        Mask = mask;
        this.groups = groups;
        this.window = window;
    }

    /// <summary>An additive mask (B, 1, Tq, Tk); the caller keeps ownership.</summary>
    public static AttentionBias Additive(Tensor mask) => new(mask, null, null);

    /// <summary>
    /// The groups of one packed row, back to back (their lengths sum to the row's length); with
    /// <paramref name="window"/> w a query also needs t - s &lt; w (Mistral's sliding window).
    /// </summary>
    public static AttentionBias Segmented(IReadOnlyList<SegmentGroup> groups, int? window = null) => new(null, groups, window);

    /// <summary>The additive mask, or null for segments.</summary>
    public Tensor? Mask { get; }

    /// <summary>The tensors a checkpointed block must keep for its recomputation (the mask, if any).</summary>
    public Tensor[] Tensors => Mask is null ? [] : [Mask];

    /// <summary>The same bias over <paramref name="tensors"/> (what <see cref="Tensors"/> returned, as kept by a checkpoint).</summary>
    public AttentionBias Rebind(Tensor[] tensors) => Mask is null ? this : Additive(tensors[0]);

    /// <summary>
    /// Scaled-dot-product attention: q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D). For segments B = 1 and
    /// Tq = Tk = N. Backward runs through autograd (split's backward concatenates the pieces' gradients).
    /// </summary>
    public Tensor Attend(Tensor q, Tensor k, Tensor v)
    {
        if (Mask is not null) return F.scaled_dot_product_attention(q, k, v, Mask);
        using var scope = NewDisposeScope();
        // Pieces along T: per group, its prefix with its first branch, then each further branch.
        var sizes = new List<long>();
        foreach (var g in groups!)
        {
            sizes.Add(g.Prefix + (g.Branches.Count > 0 ? g.Branches[0] : 0));
            sizes.AddRange(g.Branches.Skip(1));
        }
        var qs = q.split([.. sizes], 2); // (1, H, N, D) -> pieces (1, H, L_i, D)
        var ks = k.split([.. sizes], 2);
        var vs = v.split([.. sizes], 2);
        var ys = new Tensor[sizes.Count];
        int at = 0;
        foreach (var g in groups)
        {
            int first = at;
            ys[at] = Causal(qs[at], ks[at], vs[at]);
            at++;
            for (int b = 1; b < g.Branches.Count; b++, at++)
            {
                var keys = torch.cat([ks[first].narrow(2, 0, g.Prefix), ks[at]], 2); // (1, H, P + L_b, D)
                var values = torch.cat([vs[first].narrow(2, 0, g.Prefix), vs[at]], 2);
                ys[at] = Causal(qs[at], keys, values); // the branch's queries are the last L_b positions
            }
        }
        return torch.cat(ys, 2).MoveToOuterDisposeScope(); // pieces (1, H, L_i, D) -> (1, H, N, D)
    }

    /// <summary>Causal attention of queries (1, H, Tq, D) that are the last Tq of the Tk keys' positions.</summary>
    private Tensor Causal(Tensor q, Tensor k, Tensor v)
    {
        long tq = q.shape[2], tk = k.shape[2];
        if (tq == tk && (window is not int w || tk <= w))
            return F.scaled_dot_product_attention(q, k, v, is_casual: true); // (1, H, Tq, D)
        // A branch after its prefix (bottom-right causal), or a piece longer than the window: a (Tq, Tk) mask.
        using var ones = torch.ones(1, tk, ScalarType.Int64, q.device);
        using var mask = Attention.AdditiveMask(ones, tq, q.dtype, window); // (1, 1, Tq, Tk)
        return F.scaled_dot_product_attention(q, k, v, mask);
    }
}
