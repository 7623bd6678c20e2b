using AlignSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Models.Families;

/// <summary>Llama-family self-attention: q/k/v/o projections, RoPE on q and k, grouped-query attention (KV heads shared by H/KV query heads).</summary>
internal sealed class LlamaAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int heads, kvHeads, headDim;

    public LlamaAttention(ModelConfig cfg) : base("self_attn")
    {
        heads = cfg.NumHeads;
        kvHeads = cfg.NumKeyValueHeads;
        headDim = cfg.HeadDim;
        q_proj = nn.Linear(cfg.HiddenSize, heads * headDim, hasBias: cfg.QkvBias);
        k_proj = nn.Linear(cfg.HiddenSize, kvHeads * headDim, hasBias: cfg.QkvBias);
        v_proj = nn.Linear(cfg.HiddenSize, kvHeads * headDim, hasBias: cfg.QkvBias);
        o_proj = nn.Linear(heads * headDim, cfg.HiddenSize, hasBias: cfg.OutputBias);
        RegisterComponents();
    }

    /// <summary>x (B, T, C), cos/sin (B, 1, T, D), additive mask (B, 1, T, S) -> (B, T, C).</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.call(x).view(b, t, heads, headDim).transpose(1, 2); // (B, T, H*D) -> (B, H, T, D)
        var k = k_proj.call(x).view(b, t, kvHeads, headDim).transpose(1, 2); // (B, T, KV*D) -> (B, KV, T, D)
        var v = v_proj.call(x).view(b, t, kvHeads, headDim).transpose(1, 2); // (B, T, KV*D) -> (B, KV, T, D)
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(layer, k, v); // (B, KV, S, D)
        int groups = heads / kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1); // (B, KV, S, D) -> (B, H, S, D): query head h uses KV head h / groups
            v = v.repeat_interleave(groups, 1);
        }
        var y = F.scaled_dot_product_attention(q, k, v, mask); // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, heads * headDim); // (B, H, T, D) -> (B, T, H*D)
        return o_proj.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>SiLU-gated MLP: down(silu(gate(x)) * up(x)).</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public LlamaMlp(ModelConfig cfg) : base("mlp")
    {
        gate_proj = nn.Linear(cfg.HiddenSize, cfg.IntermediateSize, hasBias: cfg.MlpBias);
        up_proj = nn.Linear(cfg.HiddenSize, cfg.IntermediateSize, hasBias: cfg.MlpBias);
        down_proj = nn.Linear(cfg.IntermediateSize, cfg.HiddenSize, hasBias: cfg.MlpBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.call(F.silu(gate_proj.call(x)) * up_proj.call(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-norm decoder layer: x += attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x)).</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    private readonly RmsNorm input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly LlamaMlp mlp;

    public LlamaDecoderLayer(ModelConfig cfg) : base("layer")
    {
        input_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps);
        self_attn = new LlamaAttention(cfg);
        post_attention_layernorm = new RmsNorm(cfg.HiddenSize, cfg.NormEps);
        mlp = new LlamaMlp(cfg);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, cache, layer);
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>The Llama trunk, saved under HF's <c>model.</c> prefix.</summary>
internal sealed class LlamaTrunk : nn.Module
{
    internal readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly double[] invFreq;
    private readonly int? window;

    public LlamaTrunk(ModelConfig cfg) : base("model")
    {
        embed_tokens = nn.Embedding(cfg.VocabSize, cfg.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, cfg.NumLayers).Select(_ => new LlamaDecoderLayer(cfg)).ToArray());
        norm = new RmsNorm(cfg.HiddenSize, cfg.NormEps);
        invFreq = Rotary.InverseFrequencies(cfg);
        window = cfg.SlidingWindow;
        RegisterComponents();
    }

    public Tensor Forward(Tensor ids, Tensor attentionMask, Tensor positions, KvCache? cache, bool checkpoint = false)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.forward(ids); // (B, T, C)
        var (cos, sin) = Rotary.Tables(invFreq, positions, x.dtype); // (B, 1, T, D)
        var mask = Attention.AdditiveMask(attentionMask, ids.shape[1], x.dtype, window); // (B, 1, T, S)
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            x = checkpoint && cache is null
                ? Checkpointing.Run((input, c) => layer.Forward(input, c[0], c[1], c[2], null, 0), x, cos, sin, mask)
                : layer.Forward(x, cos, sin, mask, cache, i);
        }
        return norm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Llama-family language model (HF <c>LlamaForCausalLM</c>, <c>Qwen2ForCausalLM</c>, <c>MistralForCausalLM</c> names:
/// <c>model.embed_tokens.weight</c>, ..., <c>lm_head.weight</c>). With tied embeddings there is no <c>lm_head</c>: the head
/// reuses <c>model.embed_tokens.weight</c> (the same Parameter, not a copy).
/// </summary>
public sealed class LlamaModel : CausalLM
{
    private readonly LlamaTrunk model;
    private readonly Linear? lm_head;
    private readonly ModelConfig config;

    /// <summary>Builds a randomly initialised model (N(0, 0.02) matrices, zero biases, unit norms; seed torch's generator first).</summary>
    public LlamaModel(ModelConfig cfg) : base("llama")
    {
        if (cfg.Family != ModelFamily.Llama) throw new ArgumentException("LlamaModel needs a Llama-family config", nameof(cfg));
        if (cfg.NumHeads % cfg.NumKeyValueHeads != 0)
            throw new ArgumentException($"num_attention_heads {cfg.NumHeads} is not a multiple of num_key_value_heads {cfg.NumKeyValueHeads}", nameof(cfg));
        if (cfg.HeadDim % 2 != 0) throw new ArgumentException($"head_dim {cfg.HeadDim} must be even for RoPE", nameof(cfg));
        config = cfg;
        model = new LlamaTrunk(cfg);
        if (!cfg.TieWordEmbeddings) lm_head = nn.Linear(cfg.HiddenSize, cfg.VocabSize, hasBias: false);
        RegisterComponents();
        using (torch.no_grad())
        {
            foreach (var (name, p) in named_parameters())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) continue; // RMSNorm weights stay 1
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
    public override Tensor LmHead(Tensor hidden) =>
        lm_head is null ? F.linear(hidden, model.embed_tokens.weight!) : lm_head.call(hidden); // (..., C) -> (..., V)
}
