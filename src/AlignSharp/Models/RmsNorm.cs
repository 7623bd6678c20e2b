using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// RMSNorm (Zhang and Sennrich, 2019; https://arxiv.org/abs/1910.07467): y = w * x / sqrt(mean(x^2) + eps), statistics in
/// float32 whatever the input dtype. The weight is used as-is (Llama, Qwen) or as (1 + w) (Gemma, whose weights are
/// stored as offsets from one and initialised to zero). TorchSharp 0.107 has no RMSNorm module.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly double eps;
    private readonly bool plusOne;

    /// <summary>
    /// Creates the norm over the last dimension of size <paramref name="size"/>: the weight starts at ones, or at zeros
    /// with <paramref name="plusOne"/> (then the scale is 1 + w).
    /// </summary>
    public RmsNorm(long size, double eps, bool plusOne = false) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        this.plusOne = plusOne;
        weight = nn.Parameter(plusOne ? torch.zeros(size) : torch.ones(size));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var inv = x32.pow(2).mean([-1], keepdim: true).add_(eps).rsqrt_(); // (..., 1)
        if (plusOne) return ((x32 * inv) * (weight.to(ScalarType.Float32) + 1)).to(x.dtype).MoveToOuterDisposeScope();
        return (weight * (x32 * inv).to(x.dtype)).MoveToOuterDisposeScope();
    }
}
