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
    /// <summary>Inverse frequencies f_i for i = 0..D/2-1, with <see cref="RopeScaling"/> applied when present.</summary>
    public static double[] InverseFrequencies(ModelConfig cfg)
    {
        int d = cfg.HeadDim;
        var f = new double[d / 2];
        for (int i = 0; i < f.Length; i++) f[i] = 1.0 / Math.Pow(cfg.RopeTheta, 2.0 * i / d);
        if (cfg.RopeScaling is { } s) f = ApplyLlama3(f, s);
        return f;
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
