using System.Text.Json.Nodes;

namespace AlignSharp.Models;

/// <summary>
/// Architecture of a decoder-only model: the schema only. Dtype, device and threads come from run options, never from
/// here. Defaults in one place; <c>config.json</c> is mapped onto this record by the family named by
/// <see cref="ModelType"/> (<see cref="ModelFamilies"/>). Knobs that only one family has live in that family's
/// <see cref="FamilyOptions"/> record (<see cref="Options"/>).
/// </summary>
public sealed record ModelConfig
{
    /// <summary>HF <c>model_type</c> ("gpt2", "llama", "qwen2", ...): selects the family and is written back on save.</summary>
    public string ModelType { get; init; } = "gpt2";
    public int VocabSize { get; init; } = 96;
    public int HiddenSize { get; init; } = 32;
    public int NumLayers { get; init; } = 2;
    public int NumHeads { get; init; } = 4;
    public int NumKeyValueHeads { get; init; } = 4;
    /// <summary>Per-head size; HF derives hidden_size / num_attention_heads when absent.</summary>
    public int HeadDim { get; init; } = 8;
    /// <summary>MLP inner size (GPT-2 n_inner, default 4 * hidden).</summary>
    public int IntermediateSize { get; init; } = 128;
    public int MaxPositions { get; init; } = 64;
    public double NormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>RoPE base of the (global) rotary embedding.</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary>rope_scaling of the (global) rotary embedding (llama3 or linear), or null.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Biases on q/k/v (Qwen2; Llama/Qwen3/Gemma attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on the attention output projection (attention_bias).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Biases on gate/up/down (Llama mlp_bias).</summary>
    public bool MlpBias { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence ids (HF allows a list).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>Sliding-window attention span (Mistral; the sliding layers of Gemma 3), or null for full causal
    /// attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Family-specific settings (e.g. Gemma 3's layer pattern), or null when the family has none.</summary>
    public FamilyOptions? Options { get; init; }

    /// <summary>The family that reads, builds and saves this config (from <see cref="ModelType"/>).</summary>
    public IModelFamily Family => ModelFamilies.ForModelType(ModelType);

    /// <summary>Longest sequence the model can position, or null when unbounded (the family's position rule).</summary>
    public int? MaxSequenceLength => Family.MaxSequenceLength(this);

    /// <summary>A small Llama-family config for demos and tests.</summary>
    public static ModelConfig TinyLlama(int vocab, int hidden = 64, int layers = 2, int heads = 4, int kvHeads = 2,
        int maxPositions = 128) => new()
    {
        ModelType = "llama", VocabSize = vocab, HiddenSize = hidden, NumLayers = layers,
        NumHeads = heads, NumKeyValueHeads = kvHeads, HeadDim = hidden / heads, IntermediateSize = 2 * hidden,
        MaxPositions = maxPositions, NormEps = 1e-6, TieWordEmbeddings = false, RopeTheta = 10000,
    };

    /// <summary>A small GPT-2 shaped config for demos and tests.</summary>
    public static ModelConfig TinyGpt2(int vocab, int hidden = 64, int layers = 2, int heads = 4,
        int maxPositions = 128) => new()
    {
        ModelType = "gpt2", VocabSize = vocab, HiddenSize = hidden, NumLayers = layers,
        NumHeads = heads, NumKeyValueHeads = heads, HeadDim = hidden / heads, IntermediateSize = 4 * hidden,
        MaxPositions = maxPositions, NormEps = 1e-5, TieWordEmbeddings = true,
    };
}

/// <summary>
/// Base of a family's own settings carried in <see cref="ModelConfig.Options"/>. Derived types are records, so configs
/// keep value equality.
/// </summary>
public abstract record FamilyOptions;

/// <summary>HF <c>rope_scaling</c>: type <c>llama3</c> (all fields) or <c>linear</c> (factor only).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor,
    int OriginalMaxPositions)
{
    /// <summary>Llama 3's smooth frequency-band rescaling.</summary>
    public const string Llama3 = "llama3";
    /// <summary>Position interpolation: every frequency divided by the factor.</summary>
    public const string Linear = "linear";

    /// <summary>
    /// Reads <c>rope_scaling</c> (type under <c>rope_type</c> or <c>type</c>); absent, null or type <c>default</c> is
    /// null, any other type an error naming the key.
    /// </summary>
    public static RopeScaling? Parse(HfConfigReader config, string key = "rope_scaling")
    {
        var s = config.Object(key);
        if (s is null) return null;
        string kind = s.String("rope_type") ?? s.String("type")
            ?? throw config.Error(key, "has neither 'rope_type' nor 'type'");
        return kind switch
        {
            "default" => null,
            Linear => new RopeScaling(Linear, s.Double("factor") ?? throw s.Error("factor", "missing"), 0, 0, 0),
            Llama3 => new RopeScaling(
                Llama3,
                s.Double("factor") ?? throw s.Error("factor", "missing"),
                s.Double("low_freq_factor") ?? throw s.Error("low_freq_factor", "missing"),
                s.Double("high_freq_factor") ?? throw s.Error("high_freq_factor", "missing"),
                s.Int("original_max_position_embeddings") ?? throw s.Error("original_max_position_embeddings", "missing")),
            _ => throw config.Error(key, $"type '{kind}' is not supported (supported: {Llama3}, {Linear})"),
        };
    }

    /// <summary>The <c>config.json</c> value for <paramref name="scaling"/> (null when absent).</summary>
    public static JsonNode? ToJson(RopeScaling? scaling) => scaling switch
    {
        null => null,
        { Type: Linear } s => new JsonObject { ["rope_type"] = s.Type, ["factor"] = s.Factor },
        { } s => new JsonObject
        {
            ["rope_type"] = s.Type, ["factor"] = s.Factor, ["low_freq_factor"] = s.LowFreqFactor,
            ["high_freq_factor"] = s.HighFreqFactor, ["original_max_position_embeddings"] = s.OriginalMaxPositions,
        },
    };
}
