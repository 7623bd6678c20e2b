using AlignSharp.Models;

namespace AlignSharp.Training;

/// <summary>Saves and restores a model's weights inside a checkpoint folder (exact, in place).</summary>
internal static class ModelWeights
{
    private const string File = "model.weights";

    public static void Save(CausalLM model, string dir) => model.save(Path.Combine(dir, File));

    public static void Load(CausalLM model, string dir) => model.load(Path.Combine(dir, File));
}
