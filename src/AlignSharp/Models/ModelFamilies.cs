using AlignSharp.Models.Families;

namespace AlignSharp.Models;

/// <summary>
/// The registry of model families: the only map from a <c>config.json</c> <c>model_type</c> to the code that reads,
/// builds, loads and saves that family. Adding a family is one file implementing <see cref="IModelFamily"/> plus one
/// line here.
/// </summary>
public static class ModelFamilies
{
    private static readonly IModelFamily[] Entries =
    [
        Gpt2Family.Instance,
        LlamaFamily.Instance,
        Qwen3Family.Instance,
        Gemma3Family.Instance,
    ];

    private static readonly Dictionary<string, IModelFamily> ByModelType = Index();

    /// <summary>Every registered family, in table order.</summary>
    public static IReadOnlyList<IModelFamily> All => Entries;

    /// <summary>Every supported <c>model_type</c>, in table order.</summary>
    public static IReadOnlyList<string> ModelTypes => [.. Entries.SelectMany(f => f.ModelTypes)];

    /// <summary>The family reading <paramref name="modelType"/>, or null when none does.</summary>
    public static IModelFamily? Find(string modelType) => ByModelType.GetValueOrDefault(modelType);

    /// <summary>The family reading <paramref name="modelType"/>; an unknown type is an error listing the supported ones.</summary>
    public static IModelFamily ForModelType(string modelType) =>
        Find(modelType) ?? throw new ModelConfigException(
            $"unsupported model_type '{modelType}' (supported: {string.Join(", ", ModelTypes)})");

    private static Dictionary<string, IModelFamily> Index()
    {
        var map = new Dictionary<string, IModelFamily>(StringComparer.Ordinal);
        foreach (var f in Entries)
            foreach (var t in f.ModelTypes)
                if (!map.TryAdd(t, f)) throw new InvalidOperationException($"model_type '{t}' registered twice");
        return map;
    }
}
