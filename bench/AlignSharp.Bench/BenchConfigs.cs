using System.Text.Json;
using AlignSharp.Models;

namespace AlignSharp.Bench;

/// <summary>The fixed synthetic batch shape: B pairs, each row prompt + completion tokens, no padding.</summary>
internal sealed record BatchShape(int Pairs, int Prompt, int Completion)
{
    /// <summary>Rows (2B) times positions (T).</summary>
    public int Tokens => 2 * Pairs * (Prompt + Completion);
}

/// <summary>
/// bench/configs.json, shared with bench/pytorch_dpo_step.py so both sides build the same shapes.
/// </summary>
internal sealed class BenchConfigs
{
    private readonly JsonElement root;

    private BenchConfigs(JsonElement root) => this.root = root;

    /// <summary>Reads the file; a missing or malformed file is one clear error naming it.</summary>
    public static BenchConfigs Load(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return new BenchConfigs(doc.RootElement.Clone());
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            throw new BenchException($"{path}: cannot read benchmark configs: {e.Message}");
        }
    }

    /// <summary>The default location: bench/configs.json next to the repository's bench folder.</summary>
    public static string DefaultPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "bench", "configs.json"))) dir = dir.Parent;
        return dir is null
            ? throw new BenchException("bench/configs.json not found above the benchmark binary; pass --configs")
            : Path.Combine(dir.FullName, "bench", "configs.json");
    }

    /// <summary>The synthetic batch.</summary>
    public BatchShape Batch
    {
        get
        {
            var b = root.GetProperty("batch");
            return new BatchShape(b.GetProperty("pairs").GetInt32(), b.GetProperty("prompt").GetInt32(), b.GetProperty("completion").GetInt32());
        }
    }

    /// <summary>The named model shape as a <see cref="ModelConfig"/>.</summary>
    public ModelConfig Model(string name)
    {
        if (!root.GetProperty("models").TryGetProperty(name, out var m))
            throw new BenchException($"configs.json: no model '{name}' (have: {string.Join(", ", root.GetProperty("models").EnumerateObject().Select(p => p.Name))})");
        int Int(string key) => m.TryGetProperty(key, out var v) ? v.GetInt32() : throw new BenchException($"configs.json: model '{name}' lacks '{key}'");
        string family = m.GetProperty("family").GetString() ?? "";
        if (ModelFamilies.Find(family) is null)
            throw new BenchException($"configs.json: model '{name}' has unknown family '{family}'");
        int hidden = Int("hidden"), heads = Int("heads");
        return new ModelConfig
        {
            ModelType = family,
            VocabSize = Int("vocab"),
            HiddenSize = hidden,
            NumLayers = Int("layers"),
            NumHeads = heads,
            NumKeyValueHeads = Int("kv_heads"),
            HeadDim = hidden / heads,
            IntermediateSize = Int("intermediate"),
            MaxPositions = Int("max_positions"),
            TieWordEmbeddings = m.GetProperty("tie").GetBoolean(),
            NormEps = 1e-5,
        };
    }
}

/// <summary>A benchmark input error (bad config name, missing file).</summary>
internal sealed class BenchException(string message) : AlignSharpException(message);
