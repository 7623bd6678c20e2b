using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// A decoder-only language model. Legend for shape comments: B batch rows, T positions, C hidden size,
/// V vocabulary, H heads, D head size.
/// The forward pass is split at the final norm so callers can compute logits only where they need them
/// (log-probs of completion tokens never materialise the full (B, T, V) tensor).
/// </summary>
public abstract class CausalLM : nn.Module
{
    /// <summary>Creates the module with its TorchSharp name.</summary>
    protected CausalLM(string name) : base(name) { }

    /// <summary>The architecture this instance was built from.</summary>
    public abstract ModelConfig Config { get; }

    /// <summary>
    /// Gradient checkpointing (a run option, off by default): when on, training forwards keep only each decoder block's
    /// input and recompute the block during backward (<see cref="Checkpointing"/>), trading one extra forward for
    /// activation memory on larger models. Gradients are unchanged.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// The dtype the decoder's projections compute their matmuls in (<see cref="MatmulCast"/>): null (the default) for
    /// the parameters' own dtype, or bfloat16 for autocast-style mixed precision over float32 parameters
    /// (<c>training.precision: bfloat16</c>). Set with <see cref="UseMatmulDType"/>.
    /// </summary>
    public ScalarType? MatmulDType { get; private set; }

    /// <summary>The dtype of the LM head's matmul (null: the parameters' own); see <see cref="UseMatmulDType"/>.</summary>
    public ScalarType? HeadMatmulDType { get; private set; }

    /// <summary>
    /// Runs every projection of the decoder (attention and MLP matmuls) in <paramref name="dtype"/>, and the LM head
    /// too when <paramref name="head"/>; null restores the parameters' own dtype. Parameters, their gradients and
    /// everything between the matmuls stay in the parameters' dtype. The head stays in the parameters' dtype by
    /// default (what <c>training.precision: bfloat16</c> does): bfloat16 logits lose |logit| x 2^-9, which at a
    /// trained model's logit scale moved completion log-prob sums 3-6x more than the whole bfloat16 trunk did
    /// (docs/benchmarks.md, "bfloat16 matmuls"); <paramref name="head"/> exists to measure that alternative.
    /// </summary>
    public void UseMatmulDType(ScalarType? dtype, bool head = false)
    {
        MatmulDType = dtype;
        HeadMatmulDType = head ? dtype : null;
        string headModule = Config.Family.HeadName[..Config.Family.HeadName.LastIndexOf('.')]; // lm_head.weight -> lm_head
        foreach (var (name, module) in named_modules())
            if (module is IMatmulPrecision p) p.MatmulDType = name == headModule ? HeadMatmulDType : MatmulDType;
    }

    /// <summary>
    /// The ranks of a data-parallel run (set by the trainer when there are several): log-prob forwards then compute
    /// this rank's share of each batch's rows and gather the rest (<c>Training.DataParallel</c>).
    /// </summary>
    public Distributed.ICollectives? DataParallel { get; set; }

    /// <summary>
    /// Runs the decoder: ids (B, T) long, attention mask (B, T) with 1 for real tokens and 0 for padding,
    /// position ids (B, T) long. Returns the final-norm output (B, T, C). Query t sees key s iff s &lt;= t and
    /// mask[s] == 1.
    /// </summary>
    public abstract Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds);

    /// <summary>
    /// Incremental decoding: <paramref name="inputIds"/> and <paramref name="positionIds"/> (B, T) hold only the new
    /// tokens, <paramref name="attentionMask"/> (B, S + T) covers the cached positions and the new ones. The new keys and
    /// values are appended to <paramref name="cache"/>. Returns the final-norm output of the new tokens (B, T, C), equal
    /// to the last T rows of the uncached <see cref="ForwardHidden(Tensor, Tensor, Tensor)"/> over the whole sequence.
    /// </summary>
    public abstract Tensor ForwardHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KvCache cache);

    /// <summary>
    /// Runs the decoder over one packed row of independent sequences (padding-free batches): ids and position ids
    /// (1, N) hold the <paramref name="segments"/> back to back (their lengths sum to N), each token with its own
    /// position id. A plain segment attends causally within itself; a group's branches each attend to the group's
    /// prefix and to themselves (<see cref="SegmentGroup"/>). So the result (1, N, C) equals, token for token,
    /// <see cref="ForwardHidden(Tensor, Tensor, Tensor)"/> of each sequence alone (prefix + branch for a branch), and
    /// attention costs about sum(L_i^2).
    /// </summary>
    public abstract Tensor ForwardSegments(Tensor inputIds, Tensor positionIds, IReadOnlyList<SegmentGroup> segments);

    /// <summary>Checks that <paramref name="segments"/> tile the single row of <paramref name="inputIds"/> (1, N).</summary>
    protected static IReadOnlyList<SegmentGroup> CheckSegments(Tensor inputIds, IReadOnlyList<SegmentGroup> segments)
    {
        if (inputIds.dim() != 2 || inputIds.shape[0] != 1)
            throw new ArgumentException($"segments need one packed row (1, N), got ({string.Join(", ", inputIds.shape)})",
                nameof(inputIds));
        long total = segments.Sum(g => g.Length);
        if (total != inputIds.shape[1])
            throw new ArgumentException($"segments hold {total} tokens, the packed row {inputIds.shape[1]}", nameof(segments));
        return segments;
    }

    /// <summary>An empty KV cache sized for this model.</summary>
    public KvCache NewCache() => new(Config.NumLayers);

    /// <summary>Projects hidden states (..., C) to logits (..., V), the matmul in <see cref="HeadMatmulDType"/> when set.</summary>
    public abstract Tensor LmHead(Tensor hidden);

    /// <summary>
    /// The LM head's weight W (V, C) when <see cref="LmHead"/> is exactly linear(h, W) (no bias, computed in W's
    /// dtype, no adapter or hook on it), else null. The fused log-prob backward then writes W's gradient in place.
    /// A subclass whose head does anything more must return null.
    /// </summary>
    internal virtual Tensor? PlainHeadWeight => null;

    /// <summary>Forward hooks the library placed on the head module (an adapter's); while any, the head is not plain.</summary>
    internal int HeadHooks { get; set; }

    /// <summary>The module whose forward is the LM head, when the head is a module of its own (an untied lm_head).</summary>
    internal virtual nn.Module? HeadModule => null;

    /// <summary>Full logits (B, T, V); prefer <see cref="ForwardHidden(Tensor, Tensor, Tensor)"/> + <see cref="LmHead"/> on selected rows for training.</summary>
    public Tensor Logits(Tensor inputIds, Tensor attentionMask, Tensor positionIds) =>
        LmHead(ForwardHidden(inputIds, attentionMask, positionIds));

    /// <summary>HF position rule: position = max(cumsum(mask) - 1, 0), so left padding does not shift real positions.</summary>
    public static Tensor PositionsFromMask(Tensor attentionMask) =>
        (attentionMask.to(ScalarType.Int64).cumsum(1) - 1).clamp_min(0);
}
