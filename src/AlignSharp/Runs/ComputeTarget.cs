using AlignSharp.Config;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Runs;

/// <summary>
/// Where a run's models live, in which dtype and in which dtype they multiply: <c>training.device</c>,
/// <c>model.dtype</c> and <c>training.precision</c>, read here once. Models are placed by the composition root;
/// everything below follows the device of the model it is given.
/// </summary>
/// <param name="Device">cpu, or a CUDA device that exists.</param>
/// <param name="DType">Float32 or BFloat16.</param>
public sealed record ComputeTarget(Device Device, ScalarType DType)
{
    /// <summary>
    /// The dtype of the decoder's matmuls (<see cref="CausalLM.UseMatmulDType"/>): null for the parameters' own
    /// (<c>training.precision: float32</c>), BFloat16 for mixed precision.
    /// </summary>
    public ScalarType? MatmulDType { get; init; }

    /// <summary>
    /// A warning to print when <see cref="MatmulDType"/> asks for bfloat16 on a CPU without bfloat16 instructions
    /// (results stay correct, the matmuls are slower than float32 ones); null otherwise.
    /// </summary>
    public string? PrecisionWarning => MatmulDType == ScalarType.BFloat16 && Device.type == DeviceType.CPU
        ? Runtime.CpuFeatures.BFloat16Warning("training.precision") : null;

    /// <summary>The default: float32 on the CPU.</summary>
    public static ComputeTarget Cpu { get; } = new(CPU, ScalarType.Float32);

    /// <summary>Reads and checks <c>training.device</c> and <c>model.dtype</c> of <paramref name="config"/>.</summary>
    /// <exception cref="ConfigException">The device is malformed, or CUDA is asked for where none is available.</exception>
    public static ComputeTarget From(RunConfig config) =>
        new(ParseDevice(config.Training.Device, config.PlaceOf("training.device")), DTypeOf(config.Model.Dtype))
        {
            MatmulDType = MatmulDTypeOf(config.Training.Precision),
        };

    /// <summary>The matmul dtype of a <c>training.precision</c> value (null: the parameters' own).</summary>
    public static ScalarType? MatmulDTypeOf(ComputePrecision precision) =>
        precision == ComputePrecision.Bfloat16 ? ScalarType.BFloat16 : null;

    /// <summary>The tensor dtype of a config dtype.</summary>
    public static ScalarType DTypeOf(ModelDType dtype) => dtype switch
    {
        ModelDType.Bfloat16 => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };

    /// <summary>
    /// <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. CUDA is never faked: when the process has no CUDA device (a CPU-only
    /// libtorch runtime, or no GPU) asking for one is an error naming the setting.
    /// </summary>
    public static Device ParseDevice(string spec, string where = "training.device")
    {
        string s = spec.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        int index = 0;
        bool cuda = s == "cuda" || (s.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(s["cuda:".Length..], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out index));
        if (!cuda) throw new ConfigException($"{where}: training.device must be cpu, cuda or cuda:N, got '{spec}'");
        if (!torch.cuda.is_available())
            throw new ConfigException(
                $"{where}: training.device is '{spec}' but no CUDA device is available to this process (the libtorch " +
                "runtime package is CPU-only, e.g. libtorch-cpu-linux-x64, or the machine has no GPU); reference a " +
                "CUDA runtime package in the application (README: 'Run on a GPU') or set training.device: cpu");
        int count = torch.cuda.device_count();
        if (index >= count) throw new ConfigException($"{where}: training.device is '{spec}' but only {count} CUDA device(s) exist");
        return new Device(DeviceType.CUDA, index);
    }
}
