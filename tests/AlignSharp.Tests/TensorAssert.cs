using static TorchSharp.torch;

namespace AlignSharp.Tests;

internal static class TensorAssert
{
    /// <summary>Same dtype, shape and bytes (bit-exact, so -0 vs +0 or NaN payloads count as different).</summary>
    public static void BitEqual(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.dtype == actual.dtype, $"{what}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var a = expected.detach().cpu().contiguous();
        using var b = actual.detach().cpu().contiguous();
        Assert.True(a.bytes.SequenceEqual(b.bytes), $"{what}: values differ");
    }
}
