namespace AlignSharp.Models;

/// <summary>Model family, which decides block layout and weight names.</summary>
public enum ModelFamily
{
    /// <summary>GPT-2: LayerNorm, learned positions, fused Conv1D qkv, gelu_new MLP, tied head.</summary>
    Gpt2,
    /// <summary>Llama family (Llama 2/3, Qwen2, Mistral, SmolLM): RMSNorm, RoPE, GQA, SiLU-gated MLP.</summary>
    Llama,
}

/// <summary>
/// Architecture of a decoder-only model: the schema only. Dtype, device and threads come from run options,
/// never from here. Defaults in one place; HF config.json is mapped onto this record by the checkpoint loader.
/// </summary>
public sealed record ModelConfig
{
    public ModelFamily Family { get; init; } = ModelFamily.Gpt2;
    /// <summary>HF model_type string written back on save ("gpt2", "llama", "qwen2", "mistral").</summary>
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
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Llama 3 rope scaling, or null.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Biases on q/k/v (Qwen2; Llama attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on the attention output projection (Llama attention_bias).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Biases on gate/up/down (Llama mlp_bias).</summary>
    public bool MlpBias { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence ids (HF allows a list).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>Sliding-window attention span (Mistral, Qwen2 with use_sliding_window), or null for full causal attention.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>A small Llama-family config for demos and tests.</summary>
    public static ModelConfig TinyLlama(int vocab, int hidden = 64, int layers = 2, int heads = 4, int kvHeads = 2, int maxPositions = 128) => new()
    {
        Family = ModelFamily.Llama, ModelType = "llama", VocabSize = vocab, HiddenSize = hidden, NumLayers = layers,
        NumHeads = heads, NumKeyValueHeads = kvHeads, HeadDim = hidden / heads, IntermediateSize = 2 * hidden,
        MaxPositions = maxPositions, NormEps = 1e-6, TieWordEmbeddings = false, RopeTheta = 10000,
    };

    /// <summary>A small GPT-2 shaped config for demos and tests.</summary>
    public static ModelConfig TinyGpt2(int vocab, int hidden = 64, int layers = 2, int heads = 4, int maxPositions = 128) => new()
    {
        Family = ModelFamily.Gpt2, ModelType = "gpt2", VocabSize = vocab, HiddenSize = hidden, NumLayers = layers,
        NumHeads = heads, NumKeyValueHeads = heads, HeadDim = hidden / heads, IntermediateSize = 4 * hidden,
        MaxPositions = maxPositions, NormEps = 1e-5, TieWordEmbeddings = true,
    };
}

/// <summary>HF rope_scaling of type "llama3".</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);
