using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// Rotary position embedding, non-interleaved ("rotate_half"): pair i is dims (i, i + D/2), frequency
/// f_i = theta^(-2i/D), optionally rescaled by Llama 3's rope_scaling. The frequencies are a plain double array and
/// cos/sin are computed from the position ids on each forward, so no table lives in the module state (TorchSharp's
/// RegisterComponents would register a Tensor field as a persistent buffer and break strict HF loading).
/// </summary>
public static class Rotary
{
    /// <summary>Inverse frequencies f_i for i = 0..D/2-1 of the model's (global) rotary embedding.</summary>
    public static double[] InverseFrequencies(ModelConfig cfg) =>
        InverseFrequencies(cfg.HeadDim, cfg.RopeTheta, cfg.RopeScaling);

    /// <summary>
    /// Inverse frequencies f_i = theta^(-2i/D) for i = 0..D/2-1, rescaled by <paramref name="scaling"/> when present
    /// (<c>linear</c>: f / factor; <c>llama3</c>: see <see cref="ApplyLlama3"/>).
    /// </summary>
    public static double[] InverseFrequencies(int headDim, double theta, RopeScaling? scaling)
    {
        var f = new double[headDim / 2];
        for (int i = 0; i < f.Length; i++) f[i] = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
        return scaling switch
        {
            null => f,
            { Type: RopeScaling.Linear } s => f.Select(fi => fi / s.Factor).ToArray(),
            { Type: RopeScaling.Llama3 } s => ApplyLlama3(f, s),
            { } s => throw new ArgumentException($"rope scaling type '{s.Type}' is not supported", nameof(scaling)),
        };
    }

    /// <summary>Llama 3 scaling: keep high frequencies, divide low ones by factor, blend smoothly in between.</summary>
    private static double[] ApplyLlama3(double[] f, RopeScaling s)
    {
        double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor;
        double highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        return f.Select(fi =>
        {
            double wavelen = 2 * Math.PI / fi;
            if (wavelen < highWavelen) return fi;
            if (wavelen > lowWavelen) return fi / s.Factor;
            double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            return (1 - smooth) * fi / s.Factor + smooth * fi;
        }).ToArray();
    }

    /// <summary>cos and sin tables (B, 1, T, D) for positions (B, T), computed in float64 and returned in <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(double[] invFreq, Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var f = torch.tensor(invFreq, ScalarType.Float64, positions.device); // (D/2)
        var angles = positions.to(ScalarType.Float64).unsqueeze(-1) * f; // (B, T, 1) * (D/2) -> (B, T, D/2)
        var emb = torch.cat([angles, angles], -1).unsqueeze(1); // (B, T, D/2) -> (B, 1, T, D)
        var cos = emb.cos().to(dtype);
        var sin = emb.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Applies the rotation to x (B, H, T, D): x * cos + rotate_half(x) * sin.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = torch.cat([-x2, x1], -1); // rotate_half: (x1, x2) -> (-x2, x1)
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
