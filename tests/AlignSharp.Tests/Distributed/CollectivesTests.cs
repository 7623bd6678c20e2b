using AlignSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Distributed;

public sealed class CollectivesTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        key => vars.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void Without_a_launcher_the_process_is_single_and_loads_no_MPI()
    {
        using var c = Collectives.FromEnvironment(Env(("PATH", "/usr/bin")));
        Assert.Same(SingleProcess.Instance, c);
        Assert.Equal((0, 1), (c.Rank, c.Size));
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_SIZE")]
    [InlineData("PMI_SIZE")]
    [InlineData("PMIX_RANK")]
    public void Launcher_variables_are_recognised(string variable)
    {
        Assert.True(Collectives.UnderMpiLauncher(Env((variable, "2"))));
        Assert.False(Collectives.UnderMpiLauncher(Env(("SLURM_PROCID", "0"))));
    }

    [Fact]
    public void Slurm_tasks_without_an_MPI_process_manager_are_an_error_not_N_lonely_runs()
    {
        var e = Assert.Throws<DistributedException>(() =>
            Collectives.FromEnvironment(Env(("SLURM_NTASKS", "4"), ("SLURM_PROCID", "1"))));
        Assert.Contains("srun --mpi=pmix", e.Message);
        using var one = Collectives.FromEnvironment(Env(("SLURM_NTASKS", "1"), ("SLURM_PROCID", "0")));
        Assert.Equal(1, one.Size);
    }

    [Fact]
    public void Single_process_collectives_are_the_identity()
    {
        var c = SingleProcess.Instance;
        using var x = tensor(new[] { 1.5f, -2f, 3f });
        c.AllReduceSum(x);
        Assert.Equal([1.5f, -2f, 3f], x.data<float>().ToArray());
        c.Broadcast(x);
        using var g = c.AllGather(x.reshape(3, 1));
        Assert.Equal([3L, 1L], g.shape);
        Assert.Throws<ArgumentException>(() => c.AllReduceSum(tensor(new[] { 1L }))); // int64 is not summed
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Broadcast(x, root: 1));
    }

    [Fact]
    public void BFloat16_rounding_of_the_MPI_sum_matches_torch()
    {
        // Random float32 values plus exact ties (lower 16 bits 0x8000), which round to the even neighbour.
        using var g = new Generator(5);
        var values = randn(4000, generator: g).mul(100).data<float>().ToList();
        values.AddRange(new uint[] { 0x3F808000, 0x3F818000, 0xC0008000, 0x7F7F8000 }.Select(BitConverter.UInt32BitsToSingle));
        using var t = tensor(values.ToArray());
        using var b = t.to(ScalarType.BFloat16);
        var expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(b.bytes).ToArray();
        var actual = values.Select(BFloat16Bits.Round).ToArray();
        Assert.Equal(expected, actual);
        Assert.Equal(1.5f, BFloat16Bits.ToSingle(BFloat16Bits.Round(1.5f)));
    }

    [MpiFact]
    public void Two_ranks_allreduce_broadcast_and_allgather_give_exact_results_under_mpirun()
    {
        // `alignsharp mpi check` sums small integers times (rank + 1) in float32, float64 and bfloat16 (exact in all
        // three), broadcasts from the last rank, gathers uneven rows, and exits 1 if any rank saw a wrong value.
        // TERM names a terminal with a keypad mode: a rank's stdout is Open MPI's pseudo-terminal, and the relayed
        // output must still be plain text (no ESC[?1h ESC= from .NET's terminal set-up before the first line).
        var r = MpiRun.Cli(2, ["mpi", "check"], TimeSpan.FromMinutes(3),
            environment: new Dictionary<string, string> { ["TERM"] = "xterm" });
        Assert.False(r.TimedOut, "mpirun did not finish:\n" + r.Output);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("MPI rank 0 of 2", r.Output);
        Assert.Contains("rank 0 of 2: ok", r.Output);
        Assert.Contains("rank 1 of 2: ok", r.Output);
        Assert.DoesNotContain('\u001b', r.Output);
    }
}
