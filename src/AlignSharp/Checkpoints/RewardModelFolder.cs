using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.IO;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Checkpoints;

/// <summary>
/// Reward-model folders in transformers' <c>*ForSequenceClassification</c> layout: <c>config.json</c> with the
/// family's keys, <c>architectures</c> = [e.g. <c>GPT2ForSequenceClassification</c>], <c>num_labels: 1</c> (with the
/// <c>id2label</c> / <c>label2id</c> transformers writes for it) and <c>pad_token_id</c>; weights under the decoder's
/// names plus <c>score.weight</c> [1, C] and no LM head. Loading checks every name and shape like
/// <see cref="HfCheckpoint"/>; saving is atomic.
/// </summary>
public static class RewardModelFolder
{
    /// <summary>True when <paramref name="dir"/>'s config.json names a sequence-classification architecture.</summary>
    public static bool IsRewardModel(string dir)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) return false;
        return Architecture(HfConfig.ReadObject(path)) is { } a
            && a.EndsWith("ForSequenceClassification", StringComparison.Ordinal);
    }

    /// <summary>
    /// Saves <paramref name="model"/> into <paramref name="dir"/> atomically; tokenizer files and config keys of
    /// <paramref name="options"/>' source folder are kept as <see cref="HfCheckpoint.Save"/> keeps them.
    /// </summary>
    public static void Save(RewardModel model, string dir, HfSaveOptions? options = null)
    {
        options ??= new HfSaveOptions();
        AtomicFile.WriteDirectory(dir, temp => WriteInto(model, temp, options));
    }

    /// <summary>Writes config.json, the weights and the source folder's tokenizer files into the existing folder <paramref name="dir"/>.</summary>
    public static void WriteInto(RewardModel model, string dir, HfSaveOptions options)
    {
        using var scope = NewDisposeScope();
        var state = model.StateDict();
        var names = state.Keys.Order(StringComparer.Ordinal).ToList();
        var tensors = names.ToDictionary(n => n,
            n => options.DType is { } dt ? state[n].detach().to(dt) : state[n].detach(), StringComparer.Ordinal);
        HfCheckpoint.WriteWeights(dir, names, tensors, options.MaxShardBytes);
        JsonObject? baseConfig = null;
        if (options.SourceDir is { } src)
        {
            foreach (var f in HfCheckpoint.TokenizerFiles)
                if (File.Exists(Path.Combine(src, f))) File.Copy(Path.Combine(src, f), Path.Combine(dir, f));
            string srcConfig = Path.Combine(src, "config.json");
            if (File.Exists(srcConfig)) baseConfig = JsonNode.Parse(File.ReadAllText(srcConfig)) as JsonObject;
        }
        var cfg = model.Backbone.Config with { PadTokenId = model.PadTokenId };
        var json = HfConfig.ToJson(cfg, HfCheckpoint.TorchDtypeName(tensors[names[0]].dtype), baseConfig);
        json["architectures"] = new JsonArray(cfg.Family.SequenceClassificationArchitecture(cfg));
        json["num_labels"] = 1;
        json["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
        json["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        json["pad_token_id"] = model.PadTokenId;
        File.WriteAllText(Path.Combine(dir, "config.json"),
            json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Loads a reward-model folder onto <paramref name="options"/>' dtype and device. A folder that is not a
    /// one-label sequence classifier is an error naming the file and key.
    /// </summary>
    public static RewardModel Load(string dir, HfLoadOptions? options = null)
    {
        options ??= new HfLoadOptions();
        if (!Directory.Exists(dir)) throw new CheckpointException($"{dir}: model folder not found");
        string path = Path.Combine(dir, "config.json");
        var json = HfConfig.ReadObject(path);
        string? architecture = Architecture(json);
        if (architecture is null || !architecture.EndsWith("ForSequenceClassification", StringComparison.Ordinal))
            throw new CheckpointException($"{path}: 'architectures' is {(architecture is null ? "missing" : $"'{architecture}'")}"
                + ", not a sequence classifier (a reward model); train one from a causal LM with 'alignsharp reward train'");
        int labels = NumLabels(json, path);
        if (labels != 1)
            throw new CheckpointException($"{path}: 'num_labels' is {labels}; a reward model has one output (num_labels: 1)");
        var cfg = HfConfig.Parse(json, path);
        var backbone = ModelFactory.Create(cfg);
        RewardModel? model = null;
        try
        {
            model = new RewardModel(backbone, cfg.PadTokenId);
            LoadWeights(model, dir);
            if (options.DType != ScalarType.Float32) model.To(options.DType);
            if (options.Device is { } device) model.To(device);
            return model;
        }
        catch
        {
            if (model is not null) model.Dispose();
            else backbone.Dispose();
            throw;
        }
    }

    /// <summary>Copies the folder's weights into <paramref name="model"/>, checking every name and shape.</summary>
    public static void LoadWeights(RewardModel model, string dir)
    {
        var family = model.Backbone.Config.Family;
        var expected = model.StateDict();
        var expectedNames = expected.Keys.ToHashSet(StringComparer.Ordinal);
        var sources = HfCheckpoint.WeightSources(dir);
        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var file in sources.Values.Distinct()) files[file] = SafetensorsFile.Open(file);
            var provided = new Dictionary<string, (SafetensorsFile File, string Key)>(StringComparer.Ordinal);
            foreach (var (key, file) in sources)
            {
                string name = key == RewardModel.ScoreName ? key : family.MapCheckpointKey(key, expectedNames);
                if (family.IsNonPersistentBuffer(name)) continue;
                if (!expected.ContainsKey(name))
                    throw new CheckpointException($"{file}: unexpected tensor '{key}' for a "
                        + $"{family.SequenceClassificationArchitecture(model.Backbone.Config)}");
                if (!provided.TryAdd(name, (files[file], key)))
                    throw new CheckpointException($"{file}: tensor '{key}' duplicates '{provided[name].Key}'");
            }
            var missing = expected.Keys.Where(k => !provided.ContainsKey(k)).ToList();
            if (missing.Count > 0)
                throw new CheckpointException($"{dir}: missing tensor{(missing.Count > 1 ? "s" : "")} "
                    + string.Join(", ", missing.Take(5).Select(m => $"'{m}'"))
                    + (missing.Count > 5 ? $" and {missing.Count - 5} more" : ""));
            foreach (var (name, (file, key)) in provided)
            {
                var want = expected[name].shape;
                var got = file.Tensors[key].Shape;
                if (!want.SequenceEqual(got))
                    throw new CheckpointException($"{file.FilePath}: tensor '{key}' has shape [{string.Join(", ", got)}], "
                        + $"expected [{string.Join(", ", want)}]");
            }
            using var _ = no_grad();
            foreach (var (name, (file, key)) in provided)
            {
                using var t = file.Read(key);
                expected[name].copy_(t);
            }
        }
        finally
        {
            foreach (var f in files.Values) f.Dispose();
        }
    }

    private static string? Architecture(JsonObject json) =>
        json["architectures"] is JsonArray { Count: > 0 } a && a[0] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>transformers' rule: <c>num_labels</c>, else the size of <c>id2label</c>, else its default 2.</summary>
    private static int NumLabels(JsonObject json, string path)
    {
        var reader = new HfConfigReader(json, path);
        try
        {
            if (reader.Int("num_labels") is { } n) return n;
            return reader.Object("id2label") is not null && json["id2label"] is JsonObject o ? o.Count : 2;
        }
        catch (ModelConfigException e)
        {
            throw new CheckpointException(e.Message, e);
        }
    }
}
