using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// <c>nn.Linear</c> (y = x W^T + b, W (out, in), saved as <c>weight</c> and <c>bias</c>, initialised as nn.Linear does
/// with the same draws from torch's generator) whose matmul can run in bfloat16 with float32 parameters
/// (<see cref="MatmulCast"/>). TorchSharp's <c>Linear</c> is sealed, so the RoPE decoders build their projections
/// from this module instead; LoRA adapts it as it adapts <c>Linear</c> and <see cref="Conv1D"/>.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>, IMatmulPrecision
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter? bias;

    /// <summary>Creates an (out, in) projection, with a bias when <paramref name="hasBias"/>.</summary>
    public Projection(long inFeatures, long outFeatures, bool hasBias) : base(nameof(Projection))
    {
        weight = nn.Parameter(torch.empty(outFeatures, inFeatures));
        nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5)); // nn.Linear's init, so seeded models draw the same numbers
        if (hasBias)
        {
            bias = nn.Parameter(torch.empty(outFeatures));
            double bound = 1 / Math.Sqrt(inFeatures);
            nn.init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
    }

    /// <summary>The (out, in) weight.</summary>
    public TorchSharp.Modules.Parameter Weight => weight;

    /// <summary>The (out) bias, or null.</summary>
    public TorchSharp.Modules.Parameter? Bias => bias;

    /// <inheritdoc />
    public ScalarType? MatmulDType { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => MatmulCast.Linear(x, weight, bias, MatmulDType); // (..., in) -> (..., out)
}
