using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models;

/// <summary>Activation of the gated MLP down(act(gate(x)) * up(x)).</summary>
public enum GatedActivation
{
    /// <summary>SiLU (SwiGLU): Llama, Qwen, Mistral.</summary>
    Silu,
    /// <summary>tanh-approximated GELU (GeGLU, HF <c>gelu_pytorch_tanh</c>): Gemma.</summary>
    GeluTanh,
}

/// <summary>One decoder layer's attention: its rotary frequencies and its sliding window (null = full causal).</summary>
public sealed record LayerAttention(double[] InverseFrequencies, int? Window);

/// <summary>
/// The switches that tell the RoPE decoders of the Llama lineage apart. A family derives one from its
/// <see cref="ModelConfig"/> (<see cref="ForLlama"/> for the plain Llama layout) and builds a
/// <see cref="RopeDecoderModel"/> from both; parameter names follow HF (<c>model.layers.{i}.self_attn.q_proj</c>, ...).
/// </summary>
public sealed record DecoderSpec
{
    /// <summary>Per layer: rotary frequencies and window. Layers sharing an array share one cos/sin table.</summary>
    public required IReadOnlyList<LayerAttention> Layers { get; init; }
    /// <summary>RMSNorm over each head's q and k after projection, before RoPE (<c>q_norm</c>, <c>k_norm</c>; Qwen3,
    /// Gemma 3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>Norms scale by (1 + w) and start at zero (Gemma).</summary>
    public bool NormPlusOne { get; init; }
    /// <summary>
    /// Gemma's four norms per layer: x += post_attention_layernorm(attn(input_layernorm(x))); x +=
    /// post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x))). Without it (Llama), post_attention_layernorm is
    /// the MLP's input norm.
    /// </summary>
    public bool SandwichNorms { get; init; }
    /// <summary>Multiply the embeddings by sqrt(hidden_size) (Gemma).</summary>
    public bool ScaleEmbeddings { get; init; }
    /// <summary>The gated MLP's activation.</summary>
    public GatedActivation Activation { get; init; } = GatedActivation.Silu;
    /// <summary>Attention score scale; null for 1/sqrt(head_dim) (Gemma 3: query_pre_attn_scalar^-1/2).</summary>
    public double? QueryScale { get; init; }

    /// <summary>The Llama layout: one rotary table from rope_theta/rope_scaling, the config's window on every layer.</summary>
    public static DecoderSpec ForLlama(ModelConfig cfg)
    {
        var attention = new LayerAttention(Rotary.InverseFrequencies(cfg), cfg.SlidingWindow);
        return new DecoderSpec { Layers = [.. Enumerable.Repeat(attention, cfg.NumLayers)] };
    }
}

/// <summary>
/// Self-attention of the RoPE decoders: q/k/v/o projections, optional per-head q/k RMSNorm, RoPE on q and k,
/// grouped-query attention (query head h uses KV head h / (H/KV)).
/// </summary>
internal sealed class RopeAttention : nn.Module
{
    private readonly Projection q_proj;
    private readonly Projection k_proj;
    private readonly Projection v_proj;
    private readonly Projection o_proj;
    private readonly RmsNorm? q_norm;
    private readonly RmsNorm? k_norm;
    private readonly int heads, kvHeads, headDim;
    private readonly double? queryGain; // multiplies q so SDPA's 1/sqrt(D) becomes the spec's scale

    public RopeAttention(ModelConfig cfg, DecoderSpec spec) : base("self_attn")
    {
        heads = cfg.NumHeads;
        kvHeads = cfg.NumKeyValueHeads;
        headDim = cfg.HeadDim;
        q_proj = new Projection(cfg.HiddenSize, heads * headDim, cfg.QkvBias);
        k_proj = new Projection(cfg.HiddenSize, kvHeads * headDim, cfg.QkvBias);
        v_proj = new Projection(cfg.HiddenSize, kvHeads * headDim, cfg.QkvBias);
        o_proj = new Projection(heads * headDim, cfg.HiddenSize, cfg.OutputBias);
        if (spec.QkNorm)
        {
            q_norm = new RmsNorm(headDim, cfg.NormEps, spec.NormPlusOne);
            k_norm = new RmsNorm(headDim, cfg.NormEps, spec.NormPlusOne);
        }
        if (spec.QueryScale is double s) queryGain = s * Math.Sqrt(headDim);
        RegisterComponents();
    }

    /// <summary>x (B, T, C), cos/sin (B, 1, T, D), attention bias (additive mask (B, 1, T, S) or segments) -> (B, T, C).</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.call(x).view(b, t, heads, headDim); // (B, T, H*D) -> (B, T, H, D)
        var k = k_proj.call(x).view(b, t, kvHeads, headDim); // (B, T, KV*D) -> (B, T, KV, D)
        var v = v_proj.call(x).view(b, t, kvHeads, headDim).transpose(1, 2); // (B, T, KV*D) -> (B, KV, T, D)
        if (q_norm is not null) q = q_norm.forward(q);
        if (k_norm is not null) k = k_norm.forward(k);
        q = Rotary.Apply(q.transpose(1, 2), cos, sin); // (B, T, H, D) -> (B, H, T, D)
        k = Rotary.Apply(k.transpose(1, 2), cos, sin); // (B, T, KV, D) -> (B, KV, T, D)
        if (queryGain is double g) q = q * g;
        if (cache is not null) (k, v) = cache.Append(layer, k, v); // (B, KV, S, D)
        int groups = heads / kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1); // (B, KV, S, D) -> (B, H, S, D): query head h uses KV head h / groups
            v = v.repeat_interleave(groups, 1);
        }
        var y = bias.Attend(q, k, v); // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, heads * headDim); // (B, H, T, D) -> (B, T, H*D)
        return o_proj.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>Gated MLP: down(act(gate(x)) * up(x)).</summary>
internal sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    private readonly Projection gate_proj;
    private readonly Projection up_proj;
    private readonly Projection down_proj;
    private readonly GatedActivation activation;

    public GatedMlp(ModelConfig cfg, GatedActivation activation) : base("mlp")
    {
        this.activation = activation;
        gate_proj = new Projection(cfg.HiddenSize, cfg.IntermediateSize, cfg.MlpBias);
        up_proj = new Projection(cfg.HiddenSize, cfg.IntermediateSize, cfg.MlpBias);
        down_proj = new Projection(cfg.IntermediateSize, cfg.HiddenSize, cfg.MlpBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gate = gate_proj.call(x);
        var act = activation == GatedActivation.Silu ? F.silu(gate) : F.gelu(gate, GELU.Approximate.tanh);
        return down_proj.call(act * up_proj.call(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Pre-norm decoder layer: x += attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x)), or with sandwich norms
/// (Gemma) x += post_attention_layernorm(attn(input_layernorm(x))); x +=
/// post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x))).
/// </summary>
internal sealed class RopeDecoderLayer : nn.Module
{
    private readonly RmsNorm input_layernorm;
    private readonly RopeAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly RmsNorm? pre_feedforward_layernorm;
    private readonly RmsNorm? post_feedforward_layernorm;
    private readonly GatedMlp mlp;

    public RopeDecoderLayer(ModelConfig cfg, DecoderSpec spec) : base("layer")
    {
        input_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps, spec.NormPlusOne);
        self_attn = new RopeAttention(cfg, spec);
        post_attention_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps, spec.NormPlusOne);
        if (spec.SandwichNorms)
        {
            pre_feedforward_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps, spec.NormPlusOne);
            post_feedforward_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps, spec.NormPlusOne);
        }
        mlp = new GatedMlp(cfg, spec.Activation);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionBias bias, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var attn = self_attn.Forward(input_layernorm.forward(x), cos, sin, bias, cache, layer);
        if (pre_feedforward_layernorm is null || post_feedforward_layernorm is null)
        {
            var h = x + attn;
            return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
        }
        var r = x + post_attention_layernorm.forward(attn);
        var ff = post_feedforward_layernorm.forward(mlp.forward(pre_feedforward_layernorm.forward(r)));
        return (r + ff).MoveToOuterDisposeScope();
    }
}

/// <summary>The decoder trunk, saved under HF's <c>model.</c> prefix.</summary>
internal sealed class RopeDecoderTrunk : nn.Module
{
    internal readonly Embedding embed_tokens;
    private readonly ModuleList<RopeDecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly IReadOnlyList<LayerAttention> attention;
    private readonly double? embedScale;

    public RopeDecoderTrunk(ModelConfig cfg, DecoderSpec spec) : base("model")
    {
        embed_tokens = nn.Embedding(cfg.VocabSize, cfg.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, cfg.NumLayers).Select(_ => new RopeDecoderLayer(cfg, spec)).ToArray());
        norm = new RmsNorm(cfg.HiddenSize, cfg.NormEps, spec.NormPlusOne);
        attention = spec.Layers;
        if (spec.ScaleEmbeddings) embedScale = Math.Sqrt(cfg.HiddenSize);
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
        var x = embed_tokens.forward(ids); // (B, T, C)
        if (embedScale is double s) x = x * s;
        // One cos/sin table per distinct frequency array and one mask per distinct window, shared by the layers.
        var tables = new Dictionary<double[], (Tensor Cos, Tensor Sin)>(ReferenceEqualityComparer.Instance);
        var masks = new Dictionary<int, AttentionBias>();
        for (int i = 0; i < layers.Count; i++)
        {
            var spec = attention[i];
            if (!tables.TryGetValue(spec.InverseFrequencies, out var table))
                tables[spec.InverseFrequencies] = table = Rotary.Tables(spec.InverseFrequencies, positions, x.dtype); // (B, 1, T, D)
            int windowKey = spec.Window ?? 0;
            if (!masks.TryGetValue(windowKey, out var bias))
                masks[windowKey] = bias = segments is null
                    ? AttentionBias.Additive(Attention.AdditiveMask(attentionMask!, ids.shape[1], x.dtype, spec.Window)) // (B, 1, T, S)
                    : AttentionBias.Segmented(segments, spec.Window);
            var layer = layers[i];
            x = checkpoint && cache is null
                ? Checkpointing.Run((input, c) => layer.Forward(input, c[0], c[1], bias.Rebind(c[2..]), null, 0), x,
                    [table.Cos, table.Sin, .. bias.Tensors])
                : layer.Forward(x, table.Cos, table.Sin, bias, cache, i);
        }
        return norm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A RoPE decoder of the Llama lineage (HF <c>LlamaForCausalLM</c>, <c>Qwen2ForCausalLM</c>, <c>MistralForCausalLM</c>,
/// <c>Qwen3ForCausalLM</c>, <c>Gemma3ForCausalLM</c> names: <c>model.embed_tokens.weight</c>, ...,
/// <c>lm_head.weight</c>), shaped by a <see cref="DecoderSpec"/>. With tied embeddings there is no <c>lm_head</c>: the
/// head reuses <c>model.embed_tokens.weight</c> (the same Parameter, not a copy).
/// </summary>
public sealed class RopeDecoderModel : CausalLM
{
    private readonly RopeDecoderTrunk model;
    private readonly Projection? lm_head;
    private readonly ModelConfig config;

    /// <summary>
    /// Builds a randomly initialised model: N(0, 0.02) matrices, zero biases, unit norms (zero weights for (1 + w)
    /// norms); seed torch's generator first.
    /// </summary>
    public RopeDecoderModel(ModelConfig cfg, DecoderSpec spec) : base(cfg.ModelType)
    {
        if (cfg.NumHeads % cfg.NumKeyValueHeads != 0)
            throw new ArgumentException(
                $"num_attention_heads {cfg.NumHeads} is not a multiple of num_key_value_heads {cfg.NumKeyValueHeads}",
                nameof(cfg));
        if (cfg.HeadDim % 2 != 0) throw new ArgumentException($"head_dim {cfg.HeadDim} must be even for RoPE", nameof(cfg));
        if (spec.Layers.Count != cfg.NumLayers)
            throw new ArgumentException($"spec has {spec.Layers.Count} layers, config {cfg.NumLayers}", nameof(spec));
        config = cfg;
        model = new RopeDecoderTrunk(cfg, spec);
        if (!cfg.TieWordEmbeddings) lm_head = new Projection(cfg.HiddenSize, cfg.VocabSize, false);
        RegisterComponents();
        using (torch.no_grad())
        {
            foreach (var (name, p) in named_parameters())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) continue; // set by RmsNorm
                if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else p.normal_(0, 0.02);
            }
        }
    }

    /// <inheritdoc />
    public override ModelConfig Config => config;

    /// <inheritdoc />
    public override Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds) =>
        model.Forward(inputIds, attentionMask, positionIds, null, GradientCheckpointing);

    /// <inheritdoc />
    public override Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KvCache cache) =>
        model.Forward(inputIds, attentionMask, positionIds, cache);

    /// <inheritdoc />
    public override Tensor ForwardSegments(Tensor inputIds, Tensor positionIds, IReadOnlyList<SegmentGroup> segments) =>
        model.Forward(inputIds, null, positionIds, null, GradientCheckpointing, CheckSegments(inputIds, segments));

    /// <inheritdoc />
    public override Tensor LmHead(Tensor hidden) =>
        lm_head is null ? MatmulCast.Linear(hidden, model.embed_tokens.weight!, null, HeadMatmulDType) : lm_head.call(hidden); // (..., C) -> (..., V)

    /// <inheritdoc />
    internal override Tensor? PlainHeadWeight =>
        HeadMatmulDType is not null ? null : lm_head is null ? model.embed_tokens.weight : HeadHooks == 0 && lm_head.Bias is null ? lm_head.Weight : null;

    /// <inheritdoc />
    internal override nn.Module? HeadModule => lm_head;
}
