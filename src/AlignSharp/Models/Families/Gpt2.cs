using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models.Families;

/// <summary>GPT-2 self-attention with the fused [q | k | v] Conv1D of the HF checkpoint.</summary>
internal sealed class Gpt2Attention : nn.Module
{
    private readonly Conv1D c_attn;
    private readonly Conv1D c_proj;
    private readonly int heads;

    public Gpt2Attention(ModelConfig cfg) : base("attn")
    {
        heads = cfg.NumHeads;
        c_attn = new Conv1D(cfg.HiddenSize, 3 * cfg.HiddenSize);
        c_proj = new Conv1D(cfg.HiddenSize, cfg.HiddenSize, 0.02 / Math.Sqrt(2 * cfg.NumLayers));
        RegisterComponents();
    }

    /// <summary>
    /// x (B, T, C), attention bias (additive mask (B, 1, T, S) or segments) -> (B, T, C); with a cache, past keys/values
    /// are prepended.
    /// </summary>
    public Tensor Forward(Tensor x, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads;
        var qkv = c_attn.call(x).split(c, dim: 2); // (B, T, 3C) -> 3 x (B, T, C)
        var q = qkv[0].view(b, t, heads, d).transpose(1, 2); // (B, T, C) -> (B, H, T, D)
        var k = qkv[1].view(b, t, heads, d).transpose(1, 2);
        var v = qkv[2].view(b, t, heads, d).transpose(1, 2);
        if (cache is not null) (k, v) = cache.Append(layer, k, v); // (B, H, S, D)
        var y = bias.Attend(q, k, v); // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, c); // (B, H, T, D) -> (B, T, C)
        return c_proj.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 MLP: c_proj(gelu_new(c_fc(x))).</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Conv1D c_fc;
    private readonly Conv1D c_proj;

    public Gpt2Mlp(ModelConfig cfg) : base("mlp")
    {
        c_fc = new Conv1D(cfg.HiddenSize, cfg.IntermediateSize);
        c_proj = new Conv1D(cfg.IntermediateSize, cfg.HiddenSize, 0.02 / Math.Sqrt(2 * cfg.NumLayers));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = c_fc.call(x);
        using var g = F.gelu(h, GELU.Approximate.tanh); // gelu_new, not erf-GELU
        return c_proj.call(g);
    }
}

/// <summary>Pre-norm GPT-2 block: x += attn(ln_1(x)); x += mlp(ln_2(x)).</summary>
internal sealed class Gpt2Block : nn.Module
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    public Gpt2Block(ModelConfig cfg) : base("block")
    {
        ln_1 = nn.LayerNorm(cfg.HiddenSize, cfg.NormEps);
        attn = new Gpt2Attention(cfg);
        ln_2 = nn.LayerNorm(cfg.HiddenSize, cfg.NormEps);
        mlp = new Gpt2Mlp(cfg);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.Forward(ln_1.forward(x), bias, cache, layer);
        return (h + mlp.forward(ln_2.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>The GPT-2 trunk, saved under HF's <c>transformer.</c> prefix.</summary>
internal sealed class Gpt2Trunk : nn.Module
{
    internal readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly ModuleList<Gpt2Block> h;
    private readonly LayerNorm ln_f;

    public Gpt2Trunk(ModelConfig cfg) : base("transformer")
    {
        wte = nn.Embedding(cfg.VocabSize, cfg.HiddenSize);
        wpe = nn.Embedding(cfg.MaxPositions, cfg.HiddenSize);
        using (torch.no_grad())
        {
            wte.weight!.normal_(0, 0.02);
            wpe.weight!.normal_(0, 0.01);
        }
        h = nn.ModuleList(Enumerable.Range(0, cfg.NumLayers).Select(_ => new Gpt2Block(cfg)).ToArray());
        ln_f = nn.LayerNorm(cfg.HiddenSize, cfg.NormEps);
        RegisterComponents();
    }

    /// <summary>
    /// ids and positions (B, T); the attention mask (B, S) gives the additive mask, or with
    /// <paramref name="segments"/> (the groups of one packed row; then B = 1 and the mask is unused) attention runs per
    /// segment.
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask, Tensor positions, KvCache? cache, bool checkpoint = false,
        IReadOnlyList<SegmentGroup>? segments = null)
    {
        using var scope = NewDisposeScope();
        var x = wte.forward(ids) + wpe.forward(positions); // (B, T, C)
        var bias = segments is null
            ? AttentionBias.Additive(Attention.AdditiveMask(attentionMask!, ids.shape[1], x.dtype)) // (B, 1, T, S)
            : AttentionBias.Segmented(segments);
        for (int i = 0; i < h.Count; i++)
        {
            var block = h[i];
            x = checkpoint && cache is null
                ? Checkpointing.Run((input, c) => block.Forward(input, bias.Rebind(c), null, 0), x, bias.Tensors)
                : block.Forward(x, bias, cache, i);
        }
        return ln_f.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// GPT-2 language model (HF <c>GPT2LMHeadModel</c> names: <c>transformer.wte.weight</c>, ...). The LM head is
/// tied: it reuses <c>transformer.wte.weight</c> (the same Parameter, not a copy), so no <c>lm_head.weight</c> exists.
/// </summary>
public sealed class Gpt2Model : CausalLM
{
    private readonly Gpt2Trunk transformer;
    private readonly ModelConfig config;

    /// <summary>Builds a randomly initialised GPT-2 from <paramref name="cfg"/> (torch's generator must be seeded by the caller).</summary>
    public Gpt2Model(ModelConfig cfg) : base("gpt2")
    {
        if (cfg.Family != Gpt2Family.Instance) throw new ArgumentException("Gpt2Model needs a GPT-2 config", nameof(cfg));
        if (!cfg.TieWordEmbeddings) throw new NotSupportedException("GPT-2 with an untied LM head is not supported");
        config = cfg;
        transformer = new Gpt2Trunk(cfg);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override ModelConfig Config => config;

    /// <inheritdoc />
    public override Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds) =>
        transformer.Forward(inputIds, attentionMask, positionIds, null, GradientCheckpointing);

    /// <inheritdoc />
    public override Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KvCache cache) =>
        transformer.Forward(inputIds, attentionMask, positionIds, cache);

    /// <inheritdoc />
    public override Tensor ForwardSegments(Tensor inputIds, Tensor positionIds, IReadOnlyList<SegmentGroup> segments) =>
        transformer.Forward(inputIds, null, positionIds, null, GradientCheckpointing, CheckSegments(inputIds, segments));

    /// <inheritdoc />
    public override Tensor LmHead(Tensor hidden) =>
        MatmulCast.Linear(hidden, transformer.wte.weight!, null, HeadMatmulDType); // (..., C) -> (..., V)

    /// <inheritdoc />
    internal override Tensor? PlainHeadWeight => // tied: the embedding, which no adapter hooks; not under a cast matmul
        HeadMatmulDType is null ? transformer.wte.weight : null;
}

/// <summary>
/// GPT-2 (<c>model_type: gpt2</c>): LayerNorm, learned absolute positions (sequences are capped at
/// <c>n_positions</c>), fused Conv1D <c>c_attn</c> stored [in, out], <c>gelu_new</c>, tied head. Original OpenAI files
/// without the <c>transformer.</c> prefix and with the causal-mask buffers load too.
/// </summary>
public sealed class Gpt2Family : IModelFamily
{
    private const string Prefix = "transformer.";

    /// <summary>The registered instance.</summary>
    public static readonly Gpt2Family Instance = new();

    private Gpt2Family() { }

    /// <inheritdoc />
    public string Name => "gpt2";

    /// <inheritdoc />
    public IReadOnlyList<string> ModelTypes { get; } = ["gpt2"];

    /// <inheritdoc />
    public IReadOnlyList<string> ConfigKeys { get; } =
    [
        "vocab_size", "n_embd", "n_layer", "n_head", "n_inner", "n_positions", "layer_norm_epsilon",
        "activation_function", "scale_attn_by_inverse_layer_idx", "scale_attn_weights", "tie_word_embeddings",
    ];

    /// <inheritdoc />
    public string EmbeddingName => "transformer.wte.weight";

    /// <inheritdoc />
    public IReadOnlyList<string> LinearModules { get; } = ["c_attn", "c_proj", "c_fc"];

    /// <inheritdoc />
    public IReadOnlyList<string> DefaultAdapterTargets { get; } = ["c_attn"];

    /// <inheritdoc />
    public bool LinearWeightsAreInOut => true;

    /// <inheritdoc />
    public ModelConfig ParseConfig(HfConfigReader r, string modelType)
    {
        int hidden = r.Int("n_embd") ?? 768;
        int heads = r.Int("n_head") ?? 12;
        string act = r.String("activation_function") ?? "gelu_new";
        if (act is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw r.Error("activation_function", $"'{act}' is not supported (GPT-2 here uses gelu_new)");
        if (r.Bool("scale_attn_by_inverse_layer_idx") == true)
            throw r.Error("scale_attn_by_inverse_layer_idx", "true is not supported");
        if (r.Bool("scale_attn_weights") == false) throw r.Error("scale_attn_weights", "false is not supported");
        if (r.Bool("tie_word_embeddings") == false)
            throw r.Error("tie_word_embeddings", "an untied GPT-2 head is not supported");
        if (hidden % heads != 0) throw r.Error("n_head", $"n_embd {hidden} is not divisible by n_head {heads}");
        return new ModelConfig
        {
            VocabSize = r.Int("vocab_size") ?? 50257,
            HiddenSize = hidden,
            NumLayers = r.Int("n_layer") ?? 12,
            NumHeads = heads,
            NumKeyValueHeads = heads,
            HeadDim = hidden / heads,
            IntermediateSize = r.Int("n_inner") ?? 4 * hidden,
            MaxPositions = r.Int("n_positions") ?? 1024,
            NormEps = r.Double("layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = true,
        };
    }

    /// <inheritdoc />
    public void WriteConfig(ModelConfig cfg, JsonObject o)
    {
        o["architectures"] = new JsonArray("GPT2LMHeadModel");
        o["n_embd"] = cfg.HiddenSize;
        o["n_layer"] = cfg.NumLayers;
        o["n_head"] = cfg.NumHeads;
        o["n_inner"] = cfg.IntermediateSize == 4 * cfg.HiddenSize ? null : cfg.IntermediateSize;
        o["n_positions"] = cfg.MaxPositions;
        o["n_ctx"] = cfg.MaxPositions;
        o["layer_norm_epsilon"] = cfg.NormEps;
        o["activation_function"] = "gelu_new";
        o["scale_attn_weights"] = true;
        o["scale_attn_by_inverse_layer_idx"] = false;
    }

    /// <inheritdoc />
    public ModelConfig TinyConfig(string modelType, int vocabSize) =>
        ModelConfig.TinyGpt2(vocabSize, hidden: 32, layers: 2, heads: 4, maxPositions: 64);

    /// <inheritdoc />
    public CausalLM Create(ModelConfig config) => new Gpt2Model(config);

    /// <inheritdoc />
    public string MapCheckpointKey(string key, IReadOnlySet<string> expected) =>
        key.StartsWith(Prefix, StringComparison.Ordinal) || expected.Contains(key) ? key : Prefix + key;

    /// <inheritdoc />
    public bool IsNonPersistentBuffer(string name) =>
        name.StartsWith(Prefix + "h.", StringComparison.Ordinal)
        && (name.EndsWith(".attn.bias", StringComparison.Ordinal)
            || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal));

    /// <inheritdoc />
    public int? MaxSequenceLength(ModelConfig config) => config.MaxPositions;

    /// <inheritdoc />
    public long LayerMatmulWeights(ModelConfig c)
    {
        long d = c.HiddenSize;
        return d * 3 * d + d * d + 2 * d * c.IntermediateSize; // c_attn, attn c_proj, c_fc, mlp c_proj
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
