using System.CommandLine;
using AlignSharp.Models;
using AlignSharp.Runtime;
using TorchSharp;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>--precision float32|bfloat16</c> of the inference commands: the matmul dtype of the loaded models, as
/// <c>training.precision</c> sets it for training (<see cref="CausalLM.UseMatmulDType"/>; the LM head stays float32).
/// </summary>
internal static class PrecisionOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--precision")
        {
            Description = "matmul dtype: float32, or bfloat16 (faster on CPUs with bf16 instructions; docs/benchmarks.md)",
            DefaultValueFactory = _ => "float32",
        };
        option.AcceptOnlyFromAmong("float32", "bfloat16");
        return option;
    }

    /// <summary>Sets <paramref name="value"/> on each model; on a CPU without bfloat16 instructions warns once on stderr.</summary>
    public static void Apply(string value, params CausalLM[] models)
    {
        if (value != "bfloat16") return;
        if (CpuFeatures.BFloat16Warning("--precision") is { } warning) Console.Error.WriteLine(warning);
        foreach (var m in models) m.UseMatmulDType(torch.ScalarType.BFloat16);
    }
}
