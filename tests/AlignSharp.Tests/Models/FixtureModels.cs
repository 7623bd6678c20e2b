using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;

namespace AlignSharp.Tests.Models;

/// <summary>
/// A model fixture as its manifest entry (<c>manifest.json</c>: model_type, weights_dtype, sharded) and its files
/// (config.json, the weight names) describe it. Tests pick fixtures by these properties, never by folder name, and read
/// sizes from here, so a regenerated or renamed fixture set still gives each test the model it is about.
/// </summary>
internal sealed record FixtureModel(string Name, string Dir, string ModelType, string WeightsDtype, bool Sharded,
    JsonObject Config, IReadOnlySet<string> WeightNames)
{
    /// <summary>One F32 <c>model.safetensors</c> (neither BF16 nor sharded).</summary>
    public bool SingleFileF32 => WeightsDtype == "F32" && !Sharded;

    /// <summary>The config has a <c>rope_scaling</c> object.</summary>
    public bool RopeScaled => Config["rope_scaling"] is JsonObject;

    /// <summary>Learned absolute positions (GPT-2's <c>n_positions</c>) rather than RoPE.</summary>
    public bool LearnedPositions => Config.ContainsKey("n_positions");

    /// <summary>The LM head is the embedding (no <c>lm_head.weight</c> stored).</summary>
    public bool TiedHead => !WeightNames.Contains("lm_head.weight");

    /// <summary>The token-embedding weight's name.</summary>
    public string EmbeddingName => WeightNames.Single(n => n.EndsWith("wte.weight", StringComparison.Ordinal)
        || n.EndsWith("embed_tokens.weight", StringComparison.Ordinal));

    /// <summary>config.json's vocab_size.</summary>
    public int VocabSize => (int)Config["vocab_size"]!;

    /// <summary>config.json's hidden_size (GPT-2: n_embd).</summary>
    public int HiddenSize => (int)(Config["hidden_size"] ?? Config["n_embd"])!;

    /// <summary>config.json's max_position_embeddings (GPT-2: n_positions).</summary>
    public int MaxPositions => (int)(Config["max_position_embeddings"] ?? Config["n_positions"])!;

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Every model fixture (the shared manifest's, then the project's: same schema) and named picks by property. A pick
/// that no fixture satisfies fails with what was asked for.
/// </summary>
internal static class FixtureModels
{
    private static readonly Lazy<IReadOnlyList<FixtureModel>> Models = new(Load);

    /// <summary>Every fixture, in manifest order (shared first).</summary>
    public static IReadOnlyList<FixtureModel> All => Models.Value;

    /// <summary>The first fixture that is <paramref name="what"/>.</summary>
    public static FixtureModel One(string what, Func<FixtureModel, bool> predicate) =>
        All.FirstOrDefault(predicate) ?? throw new InvalidOperationException($"no model fixture in the manifests is {what}");

    /// <summary>A plain Llama: single-file F32, RoPE without scaling, separate LM head.</summary>
    public static FixtureModel Llama => One("a single-file F32 llama without rope_scaling",
        m => m.SingleFileF32 && m.ModelType == "llama" && !m.RopeScaled);

    /// <summary>A Llama with a <c>rope_scaling</c> config.</summary>
    public static FixtureModel RopeScaledLlama => One("a single-file F32 llama with rope_scaling",
        m => m.SingleFileF32 && m.ModelType == "llama" && m.RopeScaled);

    /// <summary>A GPT-2 (Conv1D weights, learned positions, tied head).</summary>
    public static FixtureModel Gpt2 => OfType("gpt2");

    /// <summary>The fixture stored in BF16.</summary>
    public static FixtureModel Bf16 => One("stored in BF16", m => m.WeightsDtype == "BF16" && !m.Sharded);

    /// <summary>A sharded fixture (an index file and several weight files).</summary>
    public static FixtureModel Sharded => One("sharded", m => m.Sharded);

    /// <summary>A single-file F32 fixture of <paramref name="modelType"/> (unscaled RoPE first).</summary>
    public static FixtureModel OfType(string modelType) =>
        All.Where(m => m.SingleFileF32 && m.ModelType == modelType).OrderBy(m => m.RopeScaled).FirstOrDefault()
        ?? throw new InvalidOperationException($"no model fixture in the manifests is a single-file F32 {modelType}");

    /// <summary>One single-file F32 fixture per model_type that satisfies <paramref name="predicate"/> (unscaled RoPE first).</summary>
    public static IReadOnlyList<FixtureModel> OnePerType(Func<FixtureModel, bool> predicate) =>
        [.. All.Where(m => m.SingleFileF32 && predicate(m)).GroupBy(m => m.ModelType).Select(g => g.OrderBy(m => m.RopeScaled).First())];

    /// <summary>The names of <paramref name="models"/> as theory data.</summary>
    public static TheoryData<string> Names(IEnumerable<FixtureModel> models) => new(models.Select(m => m.Name));

    private static List<FixtureModel> Load()
    {
        var result = new List<FixtureModel>();
        foreach (var root in new[] { GoldenModel.Root, GoldenModel.ProjectRoot })
        {
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "manifest.json")))!["models"]!.AsObject();
            foreach (var (name, entry) in manifest)
            {
                string dir = Path.Combine(root, name);
                bool sharded = (bool)entry!["sharded"]!;
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
                IReadOnlySet<string> names;
                if (sharded)
                    names = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, HfCheckpoint.IndexFile)))!["weight_map"]!
                        .AsObject().Select(kv => kv.Key).ToHashSet();
                else
                    using (var f = SafetensorsFile.Open(Path.Combine(dir, HfCheckpoint.WeightsFile))) names = f.Tensors.Keys.ToHashSet();
                result.Add(new FixtureModel(name, dir, (string)entry["model_type"]!, (string)entry["weights_dtype"]!, sharded,
                    config, names));
            }
        }
        return result;
    }
}
