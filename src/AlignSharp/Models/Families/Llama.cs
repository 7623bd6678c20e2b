using System.Text.Json.Nodes;

namespace AlignSharp.Models.Families;

/// <summary>
/// The Llama family: <c>llama</c> (Llama 2/3.x, SmolLM; llama3 rope scaling, <c>attention_bias</c>, <c>mlp_bias</c>),
/// <c>qwen2</c> (Qwen2/2.5: q/k/v biases) and <c>mistral</c> (<c>sliding_window</c>). RMSNorm, rotate-half RoPE, GQA,
/// SiLU-gated MLP, tied or separate head; built as a <see cref="RopeDecoderModel"/> with <see cref="DecoderSpec.ForLlama"/>.
/// </summary>
public sealed class LlamaFamily : IModelFamily
{
    /// <summary>The registered instance.</summary>
    public static readonly LlamaFamily Instance = new();

    private LlamaFamily() { }

    /// <inheritdoc />
    public string Name => "llama";

    /// <inheritdoc />
    public IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2"];

    /// <inheritdoc />
    public IReadOnlyList<string> ConfigKeys { get; } =
    [
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
        "intermediate_size", "hidden_act", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
        "rope_theta", "rope_scaling", "attention_bias", "mlp_bias", "sliding_window", "use_sliding_window",
    ];

    /// <inheritdoc />
    public string EmbeddingName => "model.embed_tokens.weight";

    /// <inheritdoc />
    public IReadOnlyList<string> LinearModules { get; } =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <inheritdoc />
    public IReadOnlyList<string> DefaultAdapterTargets { get; } = ["q_proj", "v_proj"];

    /// <inheritdoc />
    public ModelConfig ParseConfig(HfConfigReader r, string modelType)
    {
        var cfg = ParseRopeDecoder(r, defaultTie: false);
        bool attentionBias = modelType == "llama" && r.Bool("attention_bias") == true;
        if (modelType == "qwen2" && r.Bool("use_sliding_window") == true)
            throw r.Error("use_sliding_window", "Qwen2 per-layer sliding windows are not supported");
        return cfg with
        {
            QkvBias = modelType == "qwen2" || attentionBias,
            OutputBias = attentionBias,
            MlpBias = modelType == "llama" && r.Bool("mlp_bias") == true,
            SlidingWindow = modelType == "mistral" ? r.Int("sliding_window") : null,
        };
    }

    /// <summary>
    /// The keys every RoPE decoder shares (sizes, head_dim defaulting to hidden / heads, num_key_value_heads to heads,
    /// rms_norm_eps, rope_theta 10000, rope_scaling, tie_word_embeddings); <c>hidden_act</c> must be SiLU unless
    /// <paramref name="activation"/> names another accepted value.
    /// </summary>
    internal static ModelConfig ParseRopeDecoder(HfConfigReader r, bool defaultTie, string activationKey = "hidden_act",
        string activation = "silu")
    {
        int hidden = r.RequiredInt("hidden_size");
        int heads = r.RequiredInt("num_attention_heads");
        int kv = r.Int("num_key_value_heads") ?? heads;
        string act = r.String(activationKey) ?? activation;
        if (act != activation) throw r.Error(activationKey, $"'{act}' is not supported (expected {activation})");
        if (heads % kv != 0) throw r.Error("num_key_value_heads", $"{kv} does not divide num_attention_heads {heads}");
        int? headDim = r.Int("head_dim");
        if (headDim is null && hidden % heads != 0)
            throw r.Error("num_attention_heads", $"hidden_size {hidden} is not divisible by {heads}");
        return new ModelConfig
        {
            VocabSize = r.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = r.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = kv,
            HeadDim = headDim ?? hidden / heads,
            IntermediateSize = r.RequiredInt("intermediate_size"),
            MaxPositions = r.Int("max_position_embeddings") ?? 2048,
            NormEps = r.Double("rms_norm_eps") ?? 1e-6,
            TieWordEmbeddings = r.Bool("tie_word_embeddings") ?? defaultTie,
            RopeTheta = r.Double("rope_theta") ?? 10000,
            RopeScaling = RopeScaling.Parse(r),
        };
    }

    /// <summary>Writes the keys <see cref="ParseRopeDecoder"/> reads, with <c>architectures</c> = [<paramref name="architecture"/>].</summary>
    internal static void WriteRopeDecoder(ModelConfig cfg, JsonObject o, string architecture,
        string activationKey = "hidden_act", string activation = "silu")
    {
        o["architectures"] = new JsonArray(architecture);
        o["hidden_size"] = cfg.HiddenSize;
        o["num_hidden_layers"] = cfg.NumLayers;
        o["num_attention_heads"] = cfg.NumHeads;
        o["num_key_value_heads"] = cfg.NumKeyValueHeads;
        o["head_dim"] = cfg.HeadDim;
        o["intermediate_size"] = cfg.IntermediateSize;
        o["max_position_embeddings"] = cfg.MaxPositions;
        o["rms_norm_eps"] = cfg.NormEps;
        o["rope_theta"] = cfg.RopeTheta;
        o[activationKey] = activation;
        o["rope_scaling"] = RopeScaling.ToJson(cfg.RopeScaling);
    }

    /// <inheritdoc />
    public void WriteConfig(ModelConfig cfg, JsonObject o)
    {
        string architecture = cfg.ModelType switch
        {
            "qwen2" => "Qwen2ForCausalLM",
            "mistral" => "MistralForCausalLM",
            _ => "LlamaForCausalLM",
        };
        WriteRopeDecoder(cfg, o, architecture);
        if (cfg.ModelType == "llama")
        {
            o["attention_bias"] = cfg.QkvBias;
            o["mlp_bias"] = cfg.MlpBias;
        }
        if (cfg.ModelType == "mistral") o["sliding_window"] = cfg.SlidingWindow;
        if (cfg.ModelType == "qwen2") o["use_sliding_window"] = false;
    }

    /// <inheritdoc />
    public ModelConfig TinyConfig(string modelType, int vocabSize)
    {
        var cfg = ModelConfig.TinyLlama(vocabSize, hidden: 32, layers: 2, heads: 4, kvHeads: 2, maxPositions: 64)
            with { ModelType = modelType };
        return modelType switch
        {
            "qwen2" => cfg with { QkvBias = true, TieWordEmbeddings = true, RopeTheta = 1e6 },
            "mistral" => cfg with { SlidingWindow = 4 },
            _ => cfg with { RopeScaling = new RopeScaling(RopeScaling.Llama3, 8, 1, 4, 16), RopeTheta = 500000 },
        };
    }

    /// <inheritdoc />
    public CausalLM Create(ModelConfig config) => new RopeDecoderModel(config, DecoderSpec.ForLlama(config));

    /// <inheritdoc />
    public bool IsNonPersistentBuffer(string name) => IsRotaryBuffer(name);

    /// <summary>The rotary frequency buffer older transformers versions saved (<c>...rotary_emb.inv_freq</c>).</summary>
    internal static bool IsRotaryBuffer(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <inheritdoc />
    public int? MaxSequenceLength(ModelConfig config) => null;

    /// <inheritdoc />
    public long LayerMatmulWeights(ModelConfig c)
    {
        long d = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        return d * q + 2 * d * kv + q * d + 3 * d * c.IntermediateSize; // q, k, v, o, gate, up, down
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
