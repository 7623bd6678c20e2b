using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Numerically careful building blocks shared by the objectives. TorchSharp has logsigmoid/softplus/expm1 but
/// no overflow-free exponential, which several objectives (f-divergence DPO, AlphaPO, DiscoPOP) need.
/// </summary>
internal static class StableMath
{
    /// <summary>
    /// Exponent above which <see cref="Exp"/> continues linearly. e^60 ≈ 1.1e26 is far beyond any realistic
    /// loss term yet leaves headroom in float32 (max ≈ 3.4e38) for the loss and its gradient.
    /// </summary>
    public const double ExpCap = 60.0;

    /// <summary>
    /// exp(x) for x ≤ 60, continued as e^60·(1 + x − 60) beyond (value and slope continuous), so extreme
    /// log-ratios give a huge but finite loss and gradient instead of inf/NaN.
    /// </summary>
    public static Tensor Exp(Tensor x)
    {
        var capped = x.clamp_max(ExpCap);
        return capped.exp() * (x - capped + 1.0);
    }

    /// <summary>exp(x) − 1 accurate near 0 (expm1), with the same linear continuation as <see cref="Exp"/>.</summary>
    public static Tensor Expm1(Tensor x)
    {
        var capped = x.clamp_max(ExpCap);
        return where(x <= ExpCap, capped.expm1(), capped.exp() * (x - capped + 1.0) - 1.0);
    }

    /// <summary>log(1 − exp(a)) for a &lt; 0, as log(−expm1(a)).</summary>
    public static Tensor Log1mExp(Tensor a) => (-a.expm1()).log();
}
