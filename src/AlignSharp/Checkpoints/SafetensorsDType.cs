using static TorchSharp.torch;

namespace AlignSharp.Checkpoints;

/// <summary>The safetensors dtype names this library reads and writes, with their torch types and element sizes.</summary>
internal static class SafetensorsDType
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>Known names, for error messages.</summary>
    public static string Known => string.Join(", ", ByName.Keys);

    public static bool TryParse(string name, out ScalarType type, out int size)
    {
        bool ok = ByName.TryGetValue(name, out var e);
        (type, size) = e;
        return ok;
    }

    public static string NameOf(ScalarType type) =>
        ByName.FirstOrDefault(kv => kv.Value.Type == type).Key
        ?? throw new CheckpointException($"dtype {type} cannot be stored in safetensors (supported: {Known})");
}
