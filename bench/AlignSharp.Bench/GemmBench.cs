using System.Diagnostics;
using System.Text.Json.Nodes;
using TorchSharp;

namespace AlignSharp.Bench;

/// <summary>GEMM throughput of this library on this machine (float32: the denominator of MFU).</summary>
internal static class GemmBench
{
    /// <summary>Median GFLOP/s of torch.mm on n x n x n over <paramref name="reps"/> timed runs.</summary>
    public static JsonObject Run(int threads, int n, int reps, string dtype = "float32")
    {
        torch.set_num_threads(threads);
        var type = dtype == "bfloat16" ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
        using var a = torch.randn(n, n).to(type);
        using var b = torch.randn(n, n).to(type);
        for (int i = 0; i < 2; i++) torch.mm(a, b).Dispose();
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            torch.mm(a, b).Dispose();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        double med = Stats.Median(times);
        return new JsonObject
        {
            ["kind"] = "gemm", ["dtype"] = dtype, ["threads"] = threads, ["size"] = n, ["seconds"] = med, ["gflops"] = 2.0 * n * n * n / med / 1e9,
        };
    }
}

/// <summary>Small statistics helpers.</summary>
internal static class Stats
{
    /// <summary>Median of a non-empty list.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        if (s.Length == 0) return double.NaN;
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
