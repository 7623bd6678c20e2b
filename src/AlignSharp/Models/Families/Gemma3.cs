using System.Text.Json.Nodes;

namespace AlignSharp.Models.Families;

/// <summary>Gemma 3's own settings: the attention score scale, the sliding layers' RoPE base and the layer pattern.</summary>
/// <param name="QueryPreAttnScalar">Scores are q.k / sqrt(query_pre_attn_scalar) (not sqrt(head_dim)).</param>
/// <param name="RopeLocalTheta">RoPE base of the sliding-window layers (rope_local_base_freq); the global layers use
/// <see cref="ModelConfig.RopeTheta"/> and <see cref="ModelConfig.RopeScaling"/>.</param>
/// <param name="SlidingLayers">Per layer: true for sliding-window attention (<see cref="ModelConfig.SlidingWindow"/>),
/// false for full attention.</param>
public sealed record Gemma3Options(double QueryPreAttnScalar, double RopeLocalTheta, IReadOnlyList<bool> SlidingLayers)
    : FamilyOptions
{
    /// <inheritdoc />
    public bool Equals(Gemma3Options? other) =>
        other is not null && QueryPreAttnScalar == other.QueryPreAttnScalar && RopeLocalTheta == other.RopeLocalTheta
        && SlidingLayers.SequenceEqual(other.SlidingLayers);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(QueryPreAttnScalar, RopeLocalTheta, SlidingLayers.Count);
}

/// <summary>
/// Gemma 3 text (<c>model_type: gemma3_text</c>, <c>Gemma3ForCausalLM</c>: Gemma 3 1B and the text towers):
/// embeddings scaled by sqrt(hidden_size); RMSNorms scale by (1 + w); four norms per layer (post-attention and
/// pre/post-feedforward); per-head q/k RMSNorm before RoPE; GeGLU (tanh GELU) MLP; scores scaled by
/// query_pre_attn_scalar^-1/2; sliding-window layers with RoPE base <c>rope_local_base_freq</c> and full-attention
/// layers with <c>rope_theta</c> and <c>rope_scaling</c>, in the pattern of <c>layer_types</c> or, in older configs,
/// <c>sliding_window_pattern</c> (every n-th layer global). Soft-capping and bidirectional attention are rejected.
/// </summary>
public sealed class Gemma3Family : IModelFamily
{
    private const string Sliding = "sliding_attention", Full = "full_attention";

    /// <summary>The registered instance.</summary>
    public static readonly Gemma3Family Instance = new();

    private Gemma3Family() { }

    /// <inheritdoc />
    public string Name => "gemma3";

    /// <inheritdoc />
    public IReadOnlyList<string> ModelTypes { get; } = ["gemma3_text"];

    /// <inheritdoc />
    public IReadOnlyList<string> ConfigKeys { get; } =
    [
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
        "intermediate_size", "hidden_activation", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
        "rope_theta", "rope_scaling", "rope_local_base_freq", "rope_parameters", "attention_bias",
        "query_pre_attn_scalar", "sliding_window", "layer_types", "sliding_window_pattern",
        "final_logit_softcapping", "attn_logit_softcapping", "use_bidirectional_attention",
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
        var cfg = LlamaFamily.ParseRopeDecoder(r, defaultTie: true, "hidden_activation", "gelu_pytorch_tanh");
        foreach (var key in new[] { "final_logit_softcapping", "attn_logit_softcapping" })
            if (r.Double(key) is not null) throw r.Error(key, "soft-capping is not supported (Gemma 3 has none)");
        if (r.Bool("use_bidirectional_attention") == true)
            throw r.Error("use_bidirectional_attention", "true is not supported (causal language models only)");
        int kv = r.Int("num_key_value_heads") ?? 4;
        if (cfg.NumHeads % kv != 0) throw r.Error("num_key_value_heads", $"{kv} does not divide {cfg.NumHeads}");
        bool bias = r.Bool("attention_bias") == true;
        double theta = r.Double("rope_theta") ?? 1e6, local = r.Double("rope_local_base_freq") ?? 10000;
        var scaling = cfg.RopeScaling;
        if (r.Object("rope_parameters") is { } rp) // transformers 5: one entry per layer type
        {
            theta = RopeTheta(rp, Full);
            scaling = RopeScaling.Parse(rp, Full);
            local = RopeTheta(rp, Sliding);
            if (RopeScaling.Parse(rp, Sliding) is not null) throw rp.Error(Sliding, "scaling is not supported here");
        }
        return cfg with
        {
            NumKeyValueHeads = kv,
            HeadDim = r.Int("head_dim") ?? 256,
            MaxPositions = r.Int("max_position_embeddings") ?? 131072,
            RopeTheta = theta,
            RopeScaling = scaling,
            QkvBias = bias,
            OutputBias = bias,
            SlidingWindow = r.Int("sliding_window") ?? 4096,
            Options = new Gemma3Options(r.Double("query_pre_attn_scalar") ?? 256, local, LayerPattern(r, cfg.NumLayers)),
        };
    }

    private static double RopeTheta(HfConfigReader rp, string layerType) =>
        (rp.Object(layerType) ?? throw rp.Error(layerType, "missing")).Double("rope_theta")
        ?? throw rp.Error(layerType, "has no 'rope_theta'");

    /// <summary>Sliding (true) or full (false) per layer, from layer_types or sliding_window_pattern (default 6).</summary>
    private static bool[] LayerPattern(HfConfigReader r, int layers)
    {
        if (r.StringList("layer_types") is { } types)
        {
            if (types.Count != layers)
                throw r.Error("layer_types", $"has {types.Count} entries for {layers} layers");
            return [.. types.Select(t => t switch
            {
                Sliding => true,
                Full => false,
                _ => throw r.Error("layer_types", $"entry '{t}' is not '{Sliding}' or '{Full}'"),
            })];
        }
        int pattern = r.Int("sliding_window_pattern") ?? 6;
        if (pattern < 1) throw r.Error("sliding_window_pattern", $"{pattern} must be at least 1");
        return [.. Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0)];
    }

    private static Gemma3Options OptionsOf(ModelConfig cfg) =>
        cfg.Options as Gemma3Options ?? new Gemma3Options(cfg.HeadDim, 10000, [.. Enumerable.Repeat(false, cfg.NumLayers)]);

    /// <inheritdoc />
    public void WriteConfig(ModelConfig cfg, JsonObject o)
    {
        var g = OptionsOf(cfg);
        LlamaFamily.WriteRopeDecoder(cfg, o, "Gemma3ForCausalLM", "hidden_activation", "gelu_pytorch_tanh");
        o.Remove("rope_parameters"); // rewritten in the flat form this writer owns
        o["rope_local_base_freq"] = g.RopeLocalTheta;
        o["query_pre_attn_scalar"] = g.QueryPreAttnScalar;
        o["sliding_window"] = cfg.SlidingWindow;
        o["layer_types"] = new JsonArray([.. g.SlidingLayers.Select(s => (JsonNode?)(s ? Sliding : Full))]);
        int? pattern = Enumerable.Range(1, cfg.NumLayers).Cast<int?>().FirstOrDefault(p =>
            g.SlidingLayers.Select((s, i) => s == ((i + 1) % p!.Value != 0)).All(x => x));
        o["sliding_window_pattern"] = pattern; // older transformers read this instead of layer_types
        o["attention_bias"] = cfg.QkvBias;
        o["final_logit_softcapping"] = null;
        o["attn_logit_softcapping"] = null;
    }

    /// <inheritdoc />
    public ModelConfig TinyConfig(string modelType, int vocabSize) =>
        ModelConfig.TinyLlama(vocabSize, hidden: 32, layers: 3, heads: 4, kvHeads: 2, maxPositions: 64) with
        {
            ModelType = modelType, HeadDim = 16, TieWordEmbeddings = true, RopeTheta = 1e6, SlidingWindow = 4,
            RopeScaling = new RopeScaling(RopeScaling.Linear, 8, 0, 0, 0),
            Options = new Gemma3Options(24, 10000, [true, true, false]),
        };

    /// <inheritdoc />
    public CausalLM Create(ModelConfig config)
    {
        var g = OptionsOf(config);
        if (g.SlidingLayers.Count != config.NumLayers)
            throw new ArgumentException($"{g.SlidingLayers.Count} layer types for {config.NumLayers} layers", nameof(config));
        var global = new LayerAttention(Rotary.InverseFrequencies(config), null);
        var local = new LayerAttention(
            Rotary.InverseFrequencies(config.HeadDim, g.RopeLocalTheta, null), config.SlidingWindow);
        var spec = new DecoderSpec
        {
            Layers = [.. g.SlidingLayers.Select(s => s ? local : global)],
            QkNorm = true,
            NormPlusOne = true,
            SandwichNorms = true,
            ScaleEmbeddings = true,
            Activation = GatedActivation.GeluTanh,
            QueryScale = 1 / Math.Sqrt(g.QueryPreAttnScalar),
        };
        return new RopeDecoderModel(config, spec);
    }

    /// <inheritdoc />
    public bool IsNonPersistentBuffer(string name) => LlamaFamily.IsRotaryBuffer(name);

    /// <inheritdoc />
    public int? MaxSequenceLength(ModelConfig config) => null;

    /// <inheritdoc />
    public long LayerMatmulWeights(ModelConfig config) => LlamaFamily.Instance.LayerMatmulWeights(config);

    /// <inheritdoc />
    /// <remarks>transformers names the text-only Gemma 3 classifier <c>Gemma3TextForSequenceClassification</c>.</remarks>
    public string SequenceClassificationArchitecture(ModelConfig config) => "Gemma3TextForSequenceClassification";

    /// <inheritdoc />
    public override string ToString() => Name;
}
