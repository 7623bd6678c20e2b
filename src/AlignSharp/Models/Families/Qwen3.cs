using System.Text.Json.Nodes;

namespace AlignSharp.Models.Families;

/// <summary>
/// Qwen3 (<c>model_type: qwen3</c>; Qwen3 0.6B-32B dense): the Llama layout plus an RMSNorm over each head's query and
/// key (<c>self_attn.q_norm</c>, <c>self_attn.k_norm</c>, weights of size head_dim) applied after the projections and
/// before RoPE; <c>head_dim</c> is explicit (128 in the releases, not hidden / heads); <c>attention_bias</c> puts biases
/// on q, k, v and o. Per-layer sliding windows (<c>use_sliding_window</c>) are rejected.
/// </summary>
public sealed class Qwen3Family : IModelFamily
{
    /// <summary>The registered instance.</summary>
    public static readonly Qwen3Family Instance = new();

    private Qwen3Family() { }

    /// <inheritdoc />
    public string Name => "qwen3";

    /// <inheritdoc />
    public IReadOnlyList<string> ModelTypes { get; } = ["qwen3"];

    /// <inheritdoc />
    public IReadOnlyList<string> ConfigKeys { get; } =
    [
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
        "intermediate_size", "hidden_act", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
        "rope_theta", "rope_scaling", "attention_bias", "use_sliding_window",
    ];

    /// <inheritdoc />
    public string EmbeddingName => LlamaFamily.Instance.EmbeddingName;

    /// <inheritdoc />
    public IReadOnlyList<string> LinearModules => LlamaFamily.Instance.LinearModules;

    /// <inheritdoc />
    public IReadOnlyList<string> DefaultAdapterTargets => LlamaFamily.Instance.DefaultAdapterTargets;

    /// <inheritdoc />
    public ModelConfig ParseConfig(HfConfigReader r, string modelType)
    {
        var cfg = LlamaFamily.ParseRopeDecoder(r, defaultTie: false);
        if (r.Bool("use_sliding_window") == true)
            throw r.Error("use_sliding_window", "Qwen3 per-layer sliding windows are not supported");
        bool bias = r.Bool("attention_bias") == true;
        return cfg with { QkvBias = bias, OutputBias = bias };
    }

    /// <inheritdoc />
    public void WriteConfig(ModelConfig cfg, JsonObject o)
    {
        LlamaFamily.WriteRopeDecoder(cfg, o, "Qwen3ForCausalLM");
        o["attention_bias"] = cfg.QkvBias;
        o["use_sliding_window"] = false;
    }

    /// <inheritdoc />
    public ModelConfig TinyConfig(string modelType, int vocabSize) =>
        ModelConfig.TinyLlama(vocabSize, hidden: 32, layers: 2, heads: 4, kvHeads: 2, maxPositions: 64) with
        {
            ModelType = modelType, HeadDim = 16, TieWordEmbeddings = true, RopeTheta = 1e6,
        };

    /// <inheritdoc />
    public CausalLM Create(ModelConfig config) =>
        new RopeDecoderModel(config, DecoderSpec.ForLlama(config) with { QkNorm = true });

    /// <inheritdoc />
    public bool IsNonPersistentBuffer(string name) => LlamaFamily.IsRotaryBuffer(name);

    /// <inheritdoc />
    public int? MaxSequenceLength(ModelConfig config) => null;

    /// <inheritdoc />
    public long LayerMatmulWeights(ModelConfig config) => LlamaFamily.Instance.LayerMatmulWeights(config);

    /// <inheritdoc />
    public override string ToString() => Name;
}
