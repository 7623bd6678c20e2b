using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

public sealed class AttentionMaskTests
{
    private static bool[,] Allowed(Tensor additive)
    {
        var a = additive[0, 0]; // (Tq, Tk)
        var result = new bool[a.shape[0], a.shape[1]];
        for (int q = 0; q < a.shape[0]; q++)
            for (int k = 0; k < a.shape[1]; k++) result[q, k] = a[q, k].item<float>() == 0;
        return result;
    }

    [Fact]
    public void Causal_key_padding_and_sliding_window_rules()
    {
        using var mask = torch.tensor(new long[] { 0, 1, 1, 1, 1 }, [1, 5]);
        var plain = Allowed(Attention.AdditiveMask(mask, 5, ScalarType.Float32));
        var windowed = Allowed(Attention.AdditiveMask(mask, 5, ScalarType.Float32, slidingWindow: 2));
        for (int q = 0; q < 5; q++)
            for (int k = 0; k < 5; k++)
            {
                Assert.Equal(k <= q && k >= 1, plain[q, k]);
                Assert.Equal(k <= q && k >= 1 && q - k < 2, windowed[q, k]);
            }
        // Incremental decoding: 2 new queries over 5 keys are the last two rows of the full mask.
        var last = Allowed(Attention.AdditiveMask(mask, 2, ScalarType.Float32, slidingWindow: 2));
        for (int q = 0; q < 2; q++)
            for (int k = 0; k < 5; k++) Assert.Equal(windowed[q + 3, k], last[q, k]);
    }

    [Fact]
    public void Segment_numbers_make_the_mask_block_diagonal_causal()
    {
        // Two packed rows (segments 1 and 2) and a pad tail: a real query sees its own segment's earlier keys only.
        using var mask = torch.tensor(new long[] { 1, 1, 1, 2, 2, 0 }, [1, 6]);
        long[] seg = [1, 1, 1, 2, 2, 0];
        var packed = Allowed(Attention.AdditiveMask(mask, 6, ScalarType.Float32));
        var windowed = Allowed(Attention.AdditiveMask(mask, 6, ScalarType.Float32, slidingWindow: 2));
        for (int q = 0; q < 6; q++)
            for (int k = 0; k < 6; k++)
            {
                bool own = seg[k] != 0 && k <= q && (seg[q] == seg[k] || seg[q] == 0);
                Assert.Equal(own, packed[q, k]);
                Assert.Equal(own && q - k < 2, windowed[q, k]);
            }
        Assert.False(packed[3, 2]); // the first token of segment 2 does not see segment 1
    }
}
