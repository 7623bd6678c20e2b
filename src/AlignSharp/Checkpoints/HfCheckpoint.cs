using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.IO;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Checkpoints;

/// <summary>Run options for loading: the checkpoint decides the architecture, these decide dtype and device.</summary>
public sealed record HfLoadOptions
{
    /// <summary>Compute dtype of the parameters (float32 by default; BF16/F16 weights are upcast exactly).</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;
    /// <summary>Device to place the model on (CPU by default).</summary>
    public Device? Device { get; init; }
}

/// <summary>Options for saving a model as a Hugging Face folder.</summary>
public sealed record HfSaveOptions
{
    /// <summary>Shard threshold: above it, weights go to model-0000i-of-0000N.safetensors plus model.safetensors.index.json.</summary>
    public long MaxShardBytes { get; init; } = 5L << 30;
    /// <summary>Storage dtype (e.g. BFloat16), or null to keep the parameters' dtype.</summary>
    public ScalarType? DType { get; init; }
    /// <summary>A folder whose tokenizer / generation files are copied and whose config.json keys are kept (optional).</summary>
    public string? SourceDir { get; init; }
}

/// <summary>
/// A model loaded from a folder with the config it was built from. <paramref name="Notes"/> are things the loader
/// tolerated and a user may want to know (e.g. skipped non-persistent buffers); callers may print them.
/// </summary>
public sealed record LoadedModel(CausalLM Model, ModelConfig Config, IReadOnlyList<string> Notes)
{
    /// <summary>A loaded model without notes.</summary>
    public LoadedModel(CausalLM model, ModelConfig config) : this(model, config, []) { }

    /// <summary>EOS ids of <c>generation_config.json</c> (one id or a list; empty when the file is absent).</summary>
    public IReadOnlyList<int> GenerationEosTokenIds { get; init; } = [];

    /// <summary>Every EOS id: config.json's, then generation_config.json's (instruction-tuned models list their
    /// end-of-turn token there).</summary>
    public IReadOnlyList<int> EosTokenIds => [.. Config.EosTokenIds.Concat(GenerationEosTokenIds).Distinct()];
}

/// <summary>
/// Hugging Face checkpoint folders: <c>config.json</c> plus <c>model.safetensors</c> or a sharded
/// <c>model.safetensors.index.json</c>. Loading checks every expected key and shape and fails with one message naming
/// the missing, unexpected or mis-shaped tensor; tied embeddings stay one shared Parameter and load from either stored
/// name. Saving writes into a temporary sibling folder and renames it into place, so a crash never leaves a
/// half-written folder. The family of <c>model_type</c> (<see cref="ModelFamilies"/>) supplies the names.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>Single-file weights name.</summary>
    public const string WeightsFile = "model.safetensors";
    /// <summary>Sharded weights index name.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Files copied from <see cref="HfSaveOptions.SourceDir"/> when present.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json",
        "merges.txt", "added_tokens.json", "generation_config.json", "chat_template.jinja",
    ];

    /// <summary>Reads the folder's config and weights into a new model.</summary>
    public static LoadedModel Load(string dir, HfLoadOptions? options = null)
    {
        options ??= new HfLoadOptions();
        if (!Directory.Exists(dir)) throw new CheckpointException($"{dir}: model folder not found");
        var cfg = HfConfig.Read(Path.Combine(dir, "config.json"));
        var model = ModelFactory.Create(cfg);
        try
        {
            var notes = LoadWeights(model, dir);
            if (options.DType != ScalarType.Float32) model.to(options.DType);
            if (options.Device is not null) model.to(options.Device);
            return new LoadedModel(model, cfg, notes) { GenerationEosTokenIds = GenerationEos(dir) };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks that <paramref name="dir"/> would load without reading any weight: config.json parses into a known family,
    /// and every weight file's header (single file or the shards an index names) is valid. Returns the config.
    /// </summary>
    public static ModelConfig Inspect(string dir)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"{dir}: model folder not found");
        var cfg = HfConfig.Read(Path.Combine(dir, "config.json"));
        foreach (var file in WeightSources(dir).Values.Distinct())
            if (!File.Exists(file)) throw new CheckpointException($"{file}: weight file named in {IndexFile} not found");
            else SafetensorsFile.Open(file).Dispose();
        return cfg;
    }

    /// <summary>
    /// Copies the folder's weights into <paramref name="model"/>, checking names and shapes strictly, and returns notes
    /// on what was tolerated. A tied model loads its embedding from either the embedding's name or the head's
    /// (transformers saves a tied pair once, under either); a stored copy under the other name must be equal.
    /// safetensors <c>__metadata__</c> entries naming an alias (<c>"lm_head.weight": "model.embed_tokens.weight"</c>)
    /// supply a missing tensor from the one they name. Non-persistent buffers that older files carry are skipped with
    /// a note; any other unknown tensor is an error naming it.
    /// </summary>
    public static IReadOnlyList<string> LoadWeights(CausalLM model, string dir)
    {
        var family = model.Config.Family;
        var expected = model.state_dict();
        var expectedNames = expected.Keys.ToHashSet(StringComparer.Ordinal);
        bool tied = model.Config.TieWordEmbeddings;
        string embedding = family.EmbeddingName, head = family.HeadName;
        var sources = WeightSources(dir); // tensor name -> file
        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var file in sources.Values.Distinct()) files[file] = SafetensorsFile.Open(file);
            var provided = new Dictionary<string, (SafetensorsFile File, string Key)>(StringComparer.Ordinal);
            var tiedCopies = new List<(SafetensorsFile File, string Key)>();
            var skipped = new List<string>();
            foreach (var (key, path) in sources)
            {
                var file = files[path];
                if (!file.Tensors.ContainsKey(key))
                    throw new CheckpointException($"{path}: tensor '{key}' listed in {IndexFile} is not in this shard");
                string name = family.MapCheckpointKey(key, expectedNames);
                if (family.IsNonPersistentBuffer(name))
                {
                    skipped.Add(key);
                    continue;
                }
                if (tied && name == head)
                {
                    tiedCopies.Add((file, key));
                    continue;
                }
                if (!expected.ContainsKey(name))
                    throw new CheckpointException(
                        $"{path}: unexpected tensor '{key}' for model_type '{model.Config.ModelType}'");
                if (!provided.TryAdd(name, (file, key)))
                    throw new CheckpointException($"{path}: tensor '{key}' duplicates '{provided[name].Key}'");
            }
            foreach (var file in files.Values) AddAliases(file, family, expectedNames, provided);
            if (tied && !provided.ContainsKey(embedding) && tiedCopies.Count > 0)
            {
                provided[embedding] = tiedCopies[0]; // saved once under the head's name
                tiedCopies.RemoveAt(0);
            }
            var missing = expected.Keys.Where(k => !provided.ContainsKey(k)).ToList();
            if (missing.Count > 0)
                throw new CheckpointException(
                    $"{dir}: missing tensor{(missing.Count > 1 ? "s" : "")} "
                    + string.Join(", ", missing.Take(5).Select(m => $"'{m}'"))
                    + (missing.Count > 5 ? $" and {missing.Count - 5} more" : ""));
            foreach (var (name, (file, key)) in provided)
            {
                var want = expected[name].shape;
                var got = file.Tensors[key].Shape;
                if (!want.SequenceEqual(got))
                    throw new CheckpointException(
                        $"{file.FilePath}: tensor '{key}' has shape [{string.Join(", ", got)}], "
                        + $"expected [{string.Join(", ", want)}]");
            }
            using (torch.no_grad())
            {
                foreach (var (name, (file, key)) in provided)
                {
                    using var t = file.Read(key);
                    expected[name].copy_(t);
                }
                foreach (var (file, key) in tiedCopies)
                {
                    using var copy = file.Read(key);
                    var embed = expected[embedding];
                    if (!copy.shape.SequenceEqual(embed.shape) || !copy.to(embed.dtype).eq(embed).all().item<bool>())
                        throw new CheckpointException(
                            $"{file.FilePath}: tensor '{key}' differs from '{embedding}' "
                            + "but config.json has tie_word_embeddings = true");
                }
            }
            return skipped.Count == 0
                ? []
                : [$"{dir}: skipped {skipped.Count} non-persistent buffer{(skipped.Count > 1 ? "s" : "")} that older "
                   + $"transformers versions saved ({string.Join(", ", skipped.Take(3).Select(k => $"'{k}'"))}"
                   + $"{(skipped.Count > 3 ? ", ..." : "")}); the model recomputes them"];
        }
        finally
        {
            foreach (var f in files.Values) f.Dispose();
        }
    }

    /// <summary>The <c>eos_token_id</c> of the folder's generation_config.json (one id or a list); errors name the
    /// file and key.</summary>
    public static IReadOnlyList<int> GenerationEos(string dir)
    {
        string path = Path.Combine(dir, "generation_config.json");
        if (!File.Exists(path)) return [];
        try
        {
            return new HfConfigReader(HfConfig.ReadObject(path), path).IntList("eos_token_id");
        }
        catch (ModelConfigException e)
        {
            throw new CheckpointException(e.Message, e);
        }
    }

    /// <summary>
    /// safetensors' <c>save_model</c> drops shared tensors and records <c>__metadata__[dropped] = kept</c>: a missing
    /// expected tensor named there is read from the tensor it names in the same file.
    /// </summary>
    private static void AddAliases(SafetensorsFile file, IModelFamily family, IReadOnlySet<string> expectedNames,
        Dictionary<string, (SafetensorsFile File, string Key)> provided)
    {
        foreach (var (alias, target) in file.Metadata)
        {
            string name = family.MapCheckpointKey(alias, expectedNames);
            if (expectedNames.Contains(name) && !provided.ContainsKey(name) && file.Tensors.ContainsKey(target))
                provided[name] = (file, target);
        }
    }

    /// <summary>Saves config.json and the weights (sharded above <see cref="HfSaveOptions.MaxShardBytes"/>) into <paramref name="dir"/>, atomically.</summary>
    public static void Save(CausalLM model, string dir, HfSaveOptions? options = null)
    {
        options ??= new HfSaveOptions();
        if (options.MaxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxShardBytes must be positive");
        AtomicFile.WriteDirectory(dir, temp => WriteInto(model, temp, options));
    }

    /// <summary>Writes config.json, the weights and the source folder's tokenizer files into the existing folder <paramref name="dir"/>.</summary>
    internal static void WriteInto(CausalLM model, string dir, HfSaveOptions options)
    {
        var state = model.state_dict();
        var names = state.Keys.Order(StringComparer.Ordinal).ToList();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = torch.NewDisposeScope();
        foreach (var n in names) tensors[n] = options.DType is { } dt ? state[n].detach().to(dt) : state[n].detach();
        var storedType = tensors.Count > 0 ? tensors[names[0]].dtype : ScalarType.Float32;
        WriteWeights(dir, names, tensors, options.MaxShardBytes);
        JsonObject? baseConfig = null;
        if (options.SourceDir is { } src)
        {
            if (!Directory.Exists(src)) throw new CheckpointException($"{src}: source folder not found");
            foreach (var f in TokenizerFiles)
                if (File.Exists(Path.Combine(src, f))) File.Copy(Path.Combine(src, f), Path.Combine(dir, f));
            string srcConfig = Path.Combine(src, "config.json");
            if (File.Exists(srcConfig)) baseConfig = JsonNode.Parse(File.ReadAllText(srcConfig)) as JsonObject;
        }
        var config = HfConfig.ToJson(model.Config, TorchDtypeName(storedType), baseConfig);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Tensor name -> safetensors file, from model.safetensors or the sharded index.</summary>
    internal static Dictionary<string, string> WeightSources(string dir)
    {
        string single = Path.Combine(dir, WeightsFile);
        string index = Path.Combine(dir, IndexFile);
        if (File.Exists(single))
        {
            using var f = SafetensorsFile.Open(single);
            return f.Tensors.Keys.ToDictionary(k => k, _ => single, StringComparer.Ordinal);
        }
        if (!File.Exists(index)) throw new CheckpointException($"{dir}: neither {WeightsFile} nor {IndexFile} found");
        JsonObject? map;
        try
        {
            map = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject;
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"{index}: not valid JSON ({ex.Message})", ex);
        }
        if (map is null) throw new CheckpointException($"{index}: missing 'weight_map' object");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in map)
        {
            string file = node is JsonValue v && v.TryGetValue(out string? s) ? s : throw new CheckpointException($"{index}: weight_map entry '{name}' is not a file name");
            if (file.Contains('/') || file.Contains('\\') || file.Contains("..")) throw new CheckpointException($"{index}: shard '{file}' for '{name}' is not a plain file name");
            string path = Path.Combine(dir, file);
            if (!File.Exists(path)) throw new CheckpointException($"{index}: shard '{file}' (holding '{name}') is missing");
            result[name] = path;
        }
        return result;
    }

    internal static void WriteWeights(string dir, List<string> names, Dictionary<string, Tensor> tensors, long maxShardBytes)
    {
        static long Bytes(Tensor t) => t.NumberOfElements * t.ElementSize;
        long total = names.Sum(n => Bytes(tensors[n]));
        if (total <= maxShardBytes)
        {
            SafetensorsFile.Write(Path.Combine(dir, WeightsFile), tensors);
            return;
        }
        var shards = new List<List<string>> { new() };
        long current = 0;
        foreach (var n in names)
        {
            long b = Bytes(tensors[n]);
            if (current > 0 && current + b > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(n);
            current += b;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsFile.Write(Path.Combine(dir, file), shards[i].ToDictionary(n => n, n => tensors[n], StringComparer.Ordinal));
            foreach (var n in shards[i]) weightMap[n] = file;
        }
        var indexJson = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(dir, IndexFile), indexJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    internal static string TorchDtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => t.ToString().ToLowerInvariant(),
    };
}
