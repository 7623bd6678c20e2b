using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Models;

namespace AlignSharp.Checkpoints;

/// <summary>
/// Maps Hugging Face <c>config.json</c> to <see cref="ModelConfig"/> and back. The keys every family shares
/// (<c>model_type</c>, <c>bos_token_id</c>, <c>eos_token_id</c> as one id or a list, <c>pad_token_id</c>,
/// <c>torch_dtype</c>) are read here; everything else by the family registered for the <c>model_type</c>
/// (<see cref="ModelFamilies"/>), with HF's defaults for that family.
/// </summary>
public static class HfConfig
{
    /// <summary>The keys read for every family, besides each family's <see cref="IModelFamily.ConfigKeys"/>.</summary>
    public static readonly IReadOnlyList<string> CommonKeys = ["model_type", "bos_token_id", "eos_token_id", "pad_token_id"];

    /// <summary>The model_type values this library loads.</summary>
    public static IReadOnlyList<string> SupportedModelTypes => ModelFamilies.ModelTypes;

    /// <summary>Reads and maps <paramref name="path"/>; errors name the file and key.</summary>
    public static ModelConfig Read(string path) => Parse(ReadObject(path), path);

    /// <summary>Reads <paramref name="path"/> as a JSON object; errors name the file.</summary>
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: {Path.GetFileName(path)} not found");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        return node as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object");
    }

    /// <summary>Maps a parsed config; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(JsonObject json, string source) => Parse(new HfConfigReader(json, source));

    /// <summary>Maps a config through its reader (whose <see cref="HfConfigReader.KeysRead"/> then lists what was read);
    /// errors are <see cref="CheckpointException"/>s naming the file and key.</summary>
    public static ModelConfig Parse(HfConfigReader r)
    {
        try
        {
            return ParseFamily(r);
        }
        catch (ModelConfigException e)
        {
            throw new CheckpointException(e.Message, e);
        }
    }

    private static ModelConfig ParseFamily(HfConfigReader r)
    {
        string type = r.String("model_type") ?? throw new CheckpointException($"{r.Source}: missing 'model_type'");
        var family = ModelFamilies.Find(type) ?? throw new CheckpointException(
            $"{r.Source}: unsupported model_type '{type}' (supported: {string.Join(", ", SupportedModelTypes)})");
        return family.ParseConfig(r, type) with
        {
            ModelType = type,
            BosTokenId = r.Int("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            PadTokenId = r.Int("pad_token_id"),
        };
    }

    /// <summary>
    /// The HF config.json for <paramref name="cfg"/>. Keys of <paramref name="baseConfig"/> (e.g. the source folder's config)
    /// are kept unless this library sets them, so extra fields survive a load/save cycle.
    /// </summary>
    public static JsonObject ToJson(ModelConfig cfg, string torchDtype = "float32", JsonObject? baseConfig = null)
    {
        var o = baseConfig is null ? new JsonObject() : (JsonObject)baseConfig.DeepClone();
        o["model_type"] = cfg.ModelType;
        o["vocab_size"] = cfg.VocabSize;
        o["torch_dtype"] = torchDtype;
        o["tie_word_embeddings"] = cfg.TieWordEmbeddings;
        o["bos_token_id"] = cfg.BosTokenId;
        o["eos_token_id"] = cfg.EosTokenIds.Count switch
        {
            0 => null,
            1 => JsonValue.Create(cfg.EosTokenIds[0]),
            _ => new JsonArray([.. cfg.EosTokenIds.Select(i => (JsonNode?)JsonValue.Create(i))]),
        };
        if (cfg.PadTokenId is not null || o.ContainsKey("pad_token_id")) o["pad_token_id"] = cfg.PadTokenId;
        cfg.Family.WriteConfig(cfg, o);
        return o;
    }
}
