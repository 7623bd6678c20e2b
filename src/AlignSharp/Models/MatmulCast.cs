using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models;

/// <summary>
/// Autocast-style mixed precision, hand-written at the matmul: a projection whose layer has a matmul dtype (bfloat16
/// under <c>training.precision: bfloat16</c>) casts its input, weight and bias to that dtype, runs the GEMM there, and
/// casts the result back to the input's dtype. The parameters stay in their own dtype (float32 master weights; their
/// gradients arrive through the casts' backward in float32, so AdamW's state stays float32 too), and everything
/// between matmuls (norms, softmax, residual adds, attention, the log-softmax of the LM head) sees float32 tensors.
/// </summary>
/// <remarks>
/// Why not libtorch's autocast: TorchSharp 0.107 binds none of it (no <c>autocast</c> or <c>set_autocast_*</c> in its
/// sources or its native wrapper, checked against the dotnet/TorchSharp tree of the 0.107.0 release), and calling the
/// C++-mangled <c>at::autocast::set_autocast_enabled</c> of libtorch_cpu.so directly would tie us to one libtorch
/// ABI. Casting at our own projections does what CPU autocast does for <c>linear</c>/<c>addmm</c> (lower-precision
/// operands, float32 weights), with two differences: the output is cast back to float32 at once (autocast lets it flow
/// on in bfloat16), and weight casts are not cached across calls (autocast caches them inside one region); both cost
/// memory traffic, not accuracy.
/// </remarks>
public static class MatmulCast
{
    /// <summary>
    /// y = x W^T + b (W (out, in), as <c>nn.Linear</c>), computed in <paramref name="dtype"/> when it is set and differs
    /// from the operands', returned in x's dtype.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, ScalarType? dtype)
    {
        if (dtype is not ScalarType d || (x.dtype == d && weight.dtype == d)) return F.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        var y = F.linear(x.to(d), weight.to(d), bias?.to(d)); // (..., in) -> (..., out) in d
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// y = b + x W (W (in, out), GPT-2's Conv1D) over the last dimension of x, in <paramref name="dtype"/> when it is
    /// set and differs from the operands', returned in x's dtype.
    /// </summary>
    public static Tensor AddMm(Tensor x, Tensor weight, Tensor bias, ScalarType? dtype)
    {
        using var scope = NewDisposeScope();
        bool cast = dtype is ScalarType d0 && (x.dtype != d0 || weight.dtype != d0);
        var d = cast ? dtype!.Value : weight.dtype;
        var x2 = x.reshape(-1, x.shape[^1]); // (..., in) -> (N, in)
        var y = cast ? torch.addmm(bias.to(d), x2.to(d), weight.to(d), 1, 1).to(x.dtype) : torch.addmm(bias, x2, weight, 1, 1);
        return y.reshape([.. x.shape[..^1], weight.shape[1]]).MoveToOuterDisposeScope(); // (N, out) -> (..., out)
    }
}

/// <summary>A layer whose matmul can run in a lower-precision dtype (<see cref="MatmulCast"/>); set by <see cref="CausalLM"/>.</summary>
internal interface IMatmulPrecision
{
    /// <summary>The dtype the matmul runs in; null: the parameters' own dtype (no casts).</summary>
    ScalarType? MatmulDType { get; set; }
}
