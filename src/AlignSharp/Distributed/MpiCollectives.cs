using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Distributed;

/// <summary>
/// <see cref="ICollectives"/> over MPI_COMM_WORLD of the system's MPI library. Buffers are passed to MPI at their own
/// address (a CPU tensor's memory), in pieces of at most 2^30 elements because MPI counts are C ints. bfloat16 sums
/// use a user-defined MPI operation (MPI 3 has no bfloat16 type), so each partial sum is rounded to bfloat16.
/// </summary>
public sealed unsafe class MpiCollectives : ICollectives
{
    private const long MaxCount = 1L << 30;
    private readonly MpiLibrary mpi;
    private nint bfloat16Sum;
    private bool finalized;

    private MpiCollectives(MpiLibrary mpi, int rank, int size)
    {
        this.mpi = mpi;
        Rank = rank;
        Size = size;
        Description = $"MPI rank {rank} of {size} ({mpi.Version()})";
    }

    /// <summary>Loads the MPI library, initializes MPI (unless the process already did) and reads rank and size.</summary>
    public static MpiCollectives Initialize()
    {
        var mpi = MpiLibrary.Load();
        int flag = 0;
        mpi.Check(mpi.Finalized(&flag), "MPI_Finalized");
        if (flag != 0) throw new DistributedException("MPI was already finalized in this process; it cannot start again");
        mpi.Check(mpi.Initialized(&flag), "MPI_Initialized");
        if (flag == 0) mpi.Check(mpi.Init(null, null), "MPI_Init");
        int rank = 0, size = 0;
        mpi.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        return new MpiCollectives(mpi, rank, size);
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public void AllReduceSum(Tensor buffer)
    {
        TensorBuffers.CheckReducible(buffer);
        var (type, op) = buffer.dtype switch
        {
            ScalarType.Float32 => (mpi.Float, mpi.Sum),
            ScalarType.Float64 => (mpi.Double, mpi.Sum),
            _ => (mpi.UInt16, BFloat16Sum()),
        };
        ForEachPiece(buffer, MaxCount, (p, count) =>
            mpi.Check(mpi.Allreduce((void*)mpi.InPlace, p, count, type, op, mpi.CommWorld), "MPI_Allreduce"));
    }

    /// <inheritdoc />
    public void Broadcast(Tensor buffer, int root = 0)
    {
        TensorBuffers.CheckDense(buffer, "broadcast");
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"ranks are 0..{Size - 1}");
        long elementSize = buffer.ElementSize;
        ForEachPiece(buffer, MaxCount / elementSize, (p, count) =>
            mpi.Check(mpi.Bcast(p, count * (int)elementSize, mpi.Byte, root, mpi.CommWorld), "MPI_Bcast"));
    }

    /// <inheritdoc />
    public Tensor AllGather(Tensor local)
    {
        TensorBuffers.CheckDense(local, "allgather");
        if (local.dim() == 0) throw new ArgumentException("allgather: the buffer needs a row dimension");
        long rows = local.shape[0];
        long rowBytes = local.shape.Skip(1).Aggregate(1L, (a, b) => a * b) * local.ElementSize;
        var counts = new long[Size];
        fixed (long* all = counts)
        {
            mpi.Check(mpi.Allgather(&rows, 1, mpi.Int64, all, 1, mpi.Int64, mpi.CommWorld), "MPI_Allgather");
        }
        var byteCounts = new int[Size];
        var offsets = new int[Size];
        long offset = 0;
        for (int r = 0; r < Size; r++)
        {
            long bytes = counts[r] * rowBytes;
            if (offset + bytes > int.MaxValue) throw new DistributedException("allgather: more than 2 GiB gathered at once");
            (byteCounts[r], offsets[r]) = ((int)bytes, (int)offset);
            offset += bytes;
        }
        var result = empty([counts.Sum(), .. local.shape.Skip(1)], local.dtype);
        fixed (byte* send = local.numel() == 0 ? Span<byte>.Empty : local.bytes)
        fixed (byte* receive = result.numel() == 0 ? Span<byte>.Empty : result.bytes)
        fixed (int* c = byteCounts)
        fixed (int* d = offsets)
        {
            mpi.Check(mpi.Allgatherv(send, (int)(rows * rowBytes), mpi.Byte, receive, c, d, mpi.Byte, mpi.CommWorld),
                "MPI_Allgatherv");
        }
        return result;
    }

    /// <inheritdoc />
    public void Barrier() => mpi.Check(mpi.Barrier(mpi.CommWorld), "MPI_Barrier");

    /// <inheritdoc />
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        mpi.Abort(mpi.CommWorld, code);
        Environment.Exit(code); // MPI_Abort does not return; this is only reached if the library misbehaves
    }

    /// <summary>Finalizes MPI (once); every rank must call it.</summary>
    public void Dispose()
    {
        if (finalized) return;
        finalized = true;
        if (bfloat16Sum != 0)
        {
            nint op = bfloat16Sum;
            mpi.OpFree(&op);
            bfloat16Sum = 0;
        }
        mpi.Check(mpi.Finalize(), "MPI_Finalize");
    }

    private nint BFloat16Sum()
    {
        if (bfloat16Sum != 0) return bfloat16Sum;
        nint op = 0; // MPI_Op: a pointer (Open MPI) or an int written into the low half (MPICH)
        delegate* unmanaged[Cdecl]<void*, void*, int*, nint*, void> f = &MpiLibrary.BFloat16Sum;
        mpi.Check(mpi.OpCreate(f, 1, &op), "MPI_Op_create");
        return bfloat16Sum = op;
    }

    /// <summary>Calls <paramref name="call"/> on consecutive pieces of at most <paramref name="maxElements"/> elements.</summary>
    private static void ForEachPiece(Tensor buffer, long maxElements, PieceCall call)
    {
        long n = buffer.numel();
        if (n == 0) return;
        using var flat = buffer.view(-1); // (N), the buffer's own memory
        for (long start = 0; start < n; start += maxElements)
        {
            long count = Math.Min(maxElements, n - start);
            using var piece = flat.narrow(0, start, count);
            fixed (byte* p = piece.bytes) call(p, (int)count);
        }
    }

    private delegate void PieceCall(byte* pointer, int count);
}

/// <summary>Finds out how this process was started and returns the matching <see cref="ICollectives"/>.</summary>
public static class Collectives
{
    /// <summary>
    /// MPI collectives when the process was started by an MPI launcher (Open MPI's <c>mpirun</c> sets
    /// OMPI_COMM_WORLD_SIZE; MPICH's hydra and Slurm's PMI-2 set PMI_SIZE; PMIx launchers such as
    /// <c>srun --mpi=pmix</c> set PMIX_RANK); otherwise <see cref="SingleProcess"/>, and no MPI library is touched.
    /// </summary>
    public static ICollectives FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="FromEnvironment()"/>, reading variables through <paramref name="variable"/>.</summary>
    public static ICollectives FromEnvironment(Func<string, string?> variable)
    {
        if (UnderMpiLauncher(variable)) return MpiCollectives.Initialize();
        if (int.TryParse(variable("SLURM_NTASKS"), out int tasks) && tasks > 1 && variable("SLURM_PROCID") is not null)
            throw new DistributedException(
                $"started by Slurm as one of {tasks} tasks, but without an MPI process manager, so every task would " +
                "train alone: run `srun --mpi=pmix ...` (or pmi2), or `mpirun` inside the allocation");
        return SingleProcess.Instance;
    }

    /// <summary>True when an MPI launcher's variables are present.</summary>
    public static bool UnderMpiLauncher(Func<string, string?> variable) =>
        variable("OMPI_COMM_WORLD_SIZE") is not null || variable("PMI_SIZE") is not null || variable("PMIX_RANK") is not null;
}
