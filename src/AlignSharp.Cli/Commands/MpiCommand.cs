using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AlignSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp mpi check</c> (every collective on every rank, checked against exact expected values) and
/// <c>alignsharp mpi bandwidth</c> (allreduce bus bandwidth), both meant to be started with <c>mpirun -np N</c>.
/// </summary>
internal sealed class MpiCommand : ICliCommand
{
    public Command Build()
    {
        var check = new Command("check", "Check allreduce (float32, float64, bfloat16), broadcast, allgather and barrier " +
            "across the ranks of `mpirun -np N alignsharp mpi check`; exits 1 if any result is wrong.");
        check.SetAction(_ => Check());
        var megabytes = new Option<double[]>("--megabytes")
        {
            Description = "buffer sizes to allreduce, in MB (repeatable)", DefaultValueFactory = _ => [1, 16, 64],
        };
        var iterations = new Option<int>("--iterations") { Description = "timed allreduces per size", DefaultValueFactory = _ => 10 };
        var bandwidth = new Command("bandwidth", "Measure float32 allreduce time and bandwidth across the ranks " +
            "(algorithm bandwidth = bytes / time; bus bandwidth = 2(N-1)/N x algorithm bandwidth, the ring's per-link rate).")
        {
            megabytes, iterations,
        };
        bandwidth.SetAction(r => Bandwidth(r.GetValue(megabytes) ?? [], r.GetValue(iterations)));
        return new Command("mpi", "Check and measure the MPI collectives data-parallel training uses (run under mpirun).")
        {
            check, bandwidth,
        };
    }

    private static int Check()
    {
        using var comm = Collectives.FromEnvironment();
        using var scope = NewDisposeScope();
        if (comm.Rank == 0) Console.WriteLine($"collectives: {comm.Description}");
        var failures = new List<string>();
        void Expect(bool ok, string what)
        {
            if (!ok) failures.Add(what);
        }
        int n = comm.Size, rank = comm.Rank;
        double ranksSum = n * (n + 1) / 2.0; // sum over ranks of (rank + 1)
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.BFloat16 })
        {
            // Small integers times (rank + 1): every partial sum is exact, also in bfloat16 (8 significant bits).
            using var pattern = arange(1000, ScalarType.Float64).remainder(7) + 1; // (1000) values 1..7
            using var buffer = (pattern * (rank + 1)).to(dtype);
            comm.AllReduceSum(buffer);
            using var expected = (pattern * ranksSum).to(dtype);
            Expect(Same(buffer, expected), $"allreduce {dtype}");
        }
        int root = n - 1;
        using (var sent = arange(257, ScalarType.Int64) * 3 + 1) // (257) int64: broadcast copies bytes of any dtype
        {
            using var buffer = rank == root ? sent.clone() : zeros(257, ScalarType.Int64);
            comm.Broadcast(buffer, root);
            Expect(Same(buffer, sent), $"broadcast from rank {root}");
        }
        using (var local = full([rank + 1, 3], rank, ScalarType.Float32)) // rank r gives r + 1 rows of r
        {
            using var gathered = comm.AllGather(local);
            using var expected = cat(Enumerable.Range(0, n).Select(r => full([r + 1, 3], r, ScalarType.Float32)).ToArray(), 0);
            Expect(Same(gathered, expected), "allgather of uneven rows");
        }
        comm.Barrier();
        using var failed = tensor(new[] { (double)failures.Count });
        comm.AllReduceSum(failed);
        Console.WriteLine(failures.Count == 0
            ? $"rank {rank} of {n}: ok (allreduce float32/float64/bfloat16, broadcast, allgather, barrier)"
            : $"rank {rank} of {n}: FAILED {string.Join(", ", failures)}");
        return failed.item<double>() == 0 ? 0 : 1;
    }

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static int Bandwidth(double[] megabytes, int iterations)
    {
        using var comm = Collectives.FromEnvironment();
        torch.set_num_threads(1);
        if (comm.Rank == 0)
        {
            Console.WriteLine($"collectives: {comm.Description}; float32 allreduce, {iterations} timed iterations per size");
            Console.WriteLine("size_MB\ttime_ms\talg_GB/s\tbus_GB/s");
        }
        foreach (double mb in megabytes)
        {
            long elements = Math.Max(1, (long)(mb * 1e6 / 4));
            using var buffer = ones(elements, ScalarType.Float32);
            comm.AllReduceSum(buffer); // warm-up (connections, pinned pages)
            comm.Barrier();
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++) comm.AllReduceSum(buffer);
            comm.Barrier();
            double seconds = watch.Elapsed.TotalSeconds / Math.Max(1, iterations);
            double alg = elements * 4 / seconds / 1e9;
            double bus = alg * 2 * (comm.Size - 1) / comm.Size;
            if (comm.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{elements * 4 / 1e6:F1}\t{seconds * 1e3:F3}\t{alg:F3}\t{bus:F3}"));
        }
        return 0;
    }
}
