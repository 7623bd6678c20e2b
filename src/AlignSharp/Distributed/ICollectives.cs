using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, over the processes ("ranks") of one job. Buffers are
/// contiguous CPU tensors used in place (their own memory goes to the transport, no managed copies). Every rank
/// must make the same calls in the same order with buffers of the same size; a rank that cannot should call
/// <see cref="Abort"/>, which ends the whole job.
/// </summary>
public interface ICollectives : IDisposable
{
    /// <summary>This process's index, 0 .. <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Processes in the job.</summary>
    int Size { get; }

    /// <summary>Short description for logs (implementation, library version).</summary>
    string Description { get; }

    /// <summary>Replaces <paramref name="buffer"/> (float32, float64 or bfloat16) by the element-wise sum over ranks.</summary>
    void AllReduceSum(Tensor buffer);

    /// <summary>Copies <paramref name="buffer"/> (any dtype) from rank <paramref name="root"/> into every rank's buffer.</summary>
    void Broadcast(Tensor buffer, int root = 0);

    /// <summary>
    /// Every rank's <paramref name="local"/> concatenated along dimension 0 in rank order (a new tensor). Ranks may
    /// contribute different numbers of rows (also none); the other dimensions and the dtype must agree.
    /// </summary>
    Tensor AllGather(Tensor local);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every process of the job with exit code <paramref name="code"/>; does not return.</summary>
    void Abort(int code);
}

/// <summary>Decisions every rank must take alike.</summary>
public static class CollectiveDecisions
{
    /// <summary>
    /// True when <paramref name="flag"/> is set on any rank: the same answer on every rank (one 8-byte allreduce;
    /// nothing in one process). Use it wherever ranks must agree on whether to enter a collective.
    /// </summary>
    public static bool AnyRank(this ICollectives comm, bool flag)
    {
        if (comm.Size == 1) return flag;
        using var count = tensor(new[] { flag ? 1.0 : 0.0 });
        comm.AllReduceSum(count);
        return count.item<double>() > 0;
    }
}

/// <summary>One process: every collective is the identity, and nothing of MPI is loaded.</summary>
public sealed class SingleProcess : ICollectives
{
    /// <summary>The one instance.</summary>
    public static SingleProcess Instance { get; } = new();

    private SingleProcess() { }

    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    public string Description => "single process";

    /// <inheritdoc />
    public void AllReduceSum(Tensor buffer) => TensorBuffers.CheckReducible(buffer);

    /// <inheritdoc />
    public void Broadcast(Tensor buffer, int root = 0)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "the only rank is 0");
    }

    /// <inheritdoc />
    public Tensor AllGather(Tensor local) => local.clone();

    /// <inheritdoc />
    public void Barrier() { }

    /// <inheritdoc />
    public void Abort(int code) => Environment.Exit(code);

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>Checks shared by the implementations: which tensors a collective accepts.</summary>
internal static class TensorBuffers
{
    /// <summary>Fails unless <paramref name="t"/> is a contiguous CPU tensor.</summary>
    public static void CheckDense(Tensor t, string operation)
    {
        if (t.device_type != DeviceType.CPU)
            throw new ArgumentException($"{operation}: the buffer is on {t.device}; MPI collectives here take CPU tensors");
        if (!t.is_contiguous()) throw new ArgumentException($"{operation}: the buffer must be contiguous");
    }

    /// <summary>Fails unless <paramref name="t"/> can be summed: contiguous CPU float32, float64 or bfloat16.</summary>
    public static void CheckReducible(Tensor t)
    {
        CheckDense(t, "allreduce");
        if (t.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16))
            throw new ArgumentException($"allreduce: dtype {t.dtype} is not summed here (float32, float64, bfloat16)");
    }
}
