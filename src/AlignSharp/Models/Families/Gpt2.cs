using AlignSharp.Models;
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

    /// <summary>x (B, T, C), additive mask (B, 1, T, S) -> (B, T, C); with a cache, past keys/values are prepended.</summary>
    public Tensor Forward(Tensor x, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads;
        var qkv = c_attn.call(x).split(c, dim: 2); // (B, T, 3C) -> 3 x (B, T, C)
        var q = qkv[0].view(b, t, heads, d).transpose(1, 2); // (B, T, C) -> (B, H, T, D)
        var k = qkv[1].view(b, t, heads, d).transpose(1, 2);
        var v = qkv[2].view(b, t, heads, d).transpose(1, 2);
        if (cache is not null) (k, v) = cache.Append(layer, k, v); // (B, H, S, D)
        var y = F.scaled_dot_product_attention(q, k, v, mask); // (B, H, T, D)
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

    public Tensor Forward(Tensor x, Tensor mask, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.Forward(ln_1.forward(x), mask, cache, layer);
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

    public Tensor Forward(Tensor ids, Tensor attentionMask, Tensor positions, KvCache? cache, bool checkpoint = false)
    {
        using var scope = NewDisposeScope();
        var x = wte.forward(ids) + wpe.forward(positions); // (B, T, C)
        var mask = Attention.AdditiveMask(attentionMask, ids.shape[1], x.dtype); // (B, 1, T, S)
        for (int i = 0; i < h.Count; i++)
        {
            var block = h[i];
            x = checkpoint && cache is null
                ? Checkpointing.Run((input, c) => block.Forward(input, c[0], null, 0), x, mask)
                : block.Forward(x, mask, cache, i);
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
        if (cfg.Family != ModelFamily.Gpt2) throw new ArgumentException("Gpt2Model needs a GPT-2 config", nameof(cfg));
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
    public override Tensor LmHead(Tensor hidden) => F.linear(hidden, transformer.wte.weight!); // (..., C) -> (..., V)
}
