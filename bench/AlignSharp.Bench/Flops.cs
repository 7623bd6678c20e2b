using AlignSharp.Models;

namespace AlignSharp.Bench;

/// <summary>
/// Model FLOPs of one DPO step (the MFU numerator), counted from the shapes: matmuls 2 x m x n x k, attention
/// scores and weighted values over the full T x T square (what the kernels compute), the LM head only on scored
/// positions (the useful work). Backward counts twice the forward. Norms, activations and softmax are left out.
/// </summary>
internal static class Flops
{
    /// <summary>Forward FLOPs of one log-prob pass over <paramref name="rows"/> x <paramref name="t"/> tokens.</summary>
    public static double Forward(ModelConfig c, long rows, long t, long scored)
    {
        double d = c.HiddenSize, qDim = (double)c.NumHeads * c.HeadDim;
        double perLayer = c.Family.LayerMatmulWeights(c);
        double tokens = rows * t;
        double linear = 2 * tokens * c.NumLayers * perLayer;
        double attention = c.NumLayers * rows * 4.0 * t * t * qDim;
        double head = 2.0 * scored * d * c.VocabSize;
        return linear + attention + head;
    }

    /// <summary>Policy forward + backward (3x forward), plus a reference forward when it runs.</summary>
    public static double Step(ModelConfig c, long rows, long t, long scored, bool referenceForward) =>
        Forward(c, rows, t, scored) * (referenceForward ? 4 : 3);
}
