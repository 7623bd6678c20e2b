using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// RMSNorm (Zhang and Sennrich, 2019; https://arxiv.org/abs/1910.07467): y = w * x / sqrt(mean(x^2) + eps), statistics in
/// float32 whatever the input dtype, weight used as-is (no 1 + w). TorchSharp 0.107 has no RMSNorm module.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly double eps;

    /// <summary>Creates the norm over the last dimension of size <paramref name="size"/>, weight initialised to ones.</summary>
    public RmsNorm(long size, double eps) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        weight = nn.Parameter(torch.ones(size));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var inv = x32.pow(2).mean([-1], keepdim: true).add_(eps).rsqrt_(); // (..., 1)
        return (weight * (x32 * inv).to(x.dtype)).MoveToOuterDisposeScope();
    }
}
