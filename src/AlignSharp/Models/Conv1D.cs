using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// GPT-2's Conv1D: a linear layer whose weight is stored [in, out] (y = x @ W + b), kept so HF names and layouts load
/// as-is; its matmul can run in bfloat16 with float32 parameters (<see cref="MatmulCast"/>).
/// </summary>
public sealed class Conv1D : nn.Module<Tensor, Tensor>, IMatmulPrecision
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter bias;

    /// <summary>Creates an [in, out] projection initialised N(0, std).</summary>
    public Conv1D(long inFeatures, long outFeatures, double std = 0.02) : base(nameof(Conv1D))
    {
        weight = nn.Parameter(torch.randn(inFeatures, outFeatures) * std);
        bias = nn.Parameter(torch.zeros(outFeatures));
        RegisterComponents();
    }

    /// <summary>The [in, out] weight (transposed relative to <c>nn.Linear</c>'s [out, in]).</summary>
    public TorchSharp.Modules.Parameter Weight => weight;

    /// <summary>The [out] bias.</summary>
    public TorchSharp.Modules.Parameter Bias => bias;

    /// <inheritdoc />
    public ScalarType? MatmulDType { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => MatmulCast.AddMm(x, weight, bias, MatmulDType); // (..., in) -> (..., out)
}
