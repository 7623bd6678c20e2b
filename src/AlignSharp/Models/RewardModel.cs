using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// A reward model: a causal LM's decoder (any registered family) with a one-output linear head <c>score</c> (no bias)
/// on the final hidden state of each row's last non-pad token, as transformers' <c>*ForSequenceClassification</c> with
/// <c>num_labels: 1</c>. Its parameter names are the decoder's (<c>transformer.*</c>, <c>model.*</c>) plus
/// <c>score.weight</c> [1, C]; the decoder's LM head, when it has its own weight, is not part of it.
/// </summary>
/// <remarks>
/// The last token follows transformers exactly: with a <c>pad_token_id</c> it is the rightmost token that is not the
/// pad id, <c>argmax_t(t · [id_t != pad])</c> (so left and right padding both work, and when pad equals EOS the EOS
/// itself is skipped); without one it is the last position of every row.
/// </remarks>
public sealed class RewardModel : IDisposable
{
    /// <summary>The saved name of the head's weight.</summary>
    public const string ScoreName = "score.weight";

    private readonly Linear score;

    /// <summary>
    /// Puts a fresh head on <paramref name="backbone"/> (N(0, 0.02) as transformers initialises it, from torch's
    /// generator: seed it first), on the backbone's device and dtype. The reward model owns the backbone.
    /// </summary>
    public RewardModel(CausalLM backbone, int? padTokenId)
    {
        Backbone = backbone;
        PadTokenId = padTokenId;
        var first = backbone.parameters().First();
        score = nn.Linear(backbone.Config.HiddenSize, 1, hasBias: false);
        using (no_grad()) score.weight!.normal_(0, 0.02);
        score.to(first.dtype).to(first.device);
    }

    /// <summary>The decoder whose final hidden states the head reads.</summary>
    public CausalLM Backbone { get; }

    /// <summary>The pad id that marks padding (saved as <c>pad_token_id</c>), or null: then every row's last position is read.</summary>
    public int? PadTokenId { get; }

    /// <summary>The head's weight [1, C].</summary>
    public Parameter Score => score.weight!;

    /// <summary>Every trainable parameter under its saved name: the decoder's, then <see cref="ScoreName"/>.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters =>
    [
        .. Backbone.named_parameters().Where(p => p.name != Backbone.Config.Family.HeadName && p.parameter.requires_grad),
        (ScoreName, Score),
    ];

    /// <summary>
    /// The tensors a saved reward model holds, by saved name: the decoder's state without a separate LM head, and the
    /// head.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = Backbone.state_dict()
            .Where(kv => kv.Key != Backbone.Config.Family.HeadName)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        state[ScoreName] = Score;
        return state;
    }

    /// <summary>
    /// Rewards (R) of rows <paramref name="inputIds"/> (R, T) with attention mask (R, T): the head on the final hidden
    /// state at <see cref="LastTokenIndex"/> of each row, in float32 for half-precision models.
    /// </summary>
    public Tensor Rewards(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var hidden = Backbone.ForwardHidden(inputIds, attentionMask, CausalLM.PositionsFromMask(attentionMask)); // (R, T, C)
        var last = LastTokenIndex(inputIds, PadTokenId); // (R)
        var rows = arange(inputIds.shape[0], device: inputIds.device);
        var pooled = hidden[rows, last]; // (R, T, C) -> (R, C)
        var rewards = score.call(pooled).squeeze(-1); // (R, 1) -> (R)
        if (rewards.dtype is ScalarType.BFloat16 or ScalarType.Float16) rewards = rewards.to(ScalarType.Float32);
        return rewards.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The position of each row's last non-pad token (R), as transformers finds it: the rightmost t with
    /// <c>ids[t] != pad</c> (0 for a row of padding only), or the last position when <paramref name="padTokenId"/> is null.
    /// </summary>
    public static Tensor LastTokenIndex(Tensor inputIds, int? padTokenId)
    {
        long t = inputIds.shape[1];
        if (padTokenId is not { } pad) return full(inputIds.shape[0], t - 1, ScalarType.Int64, inputIds.device);
        using var scope = NewDisposeScope();
        var notPad = inputIds.ne(pad).to(ScalarType.Int64); // (R, T)
        var index = arange(t, ScalarType.Int64, inputIds.device).unsqueeze(0); // (1, T)
        return (index * notPad).argmax(1).MoveToOuterDisposeScope(); // (R, T) -> (R)
    }

    /// <summary>Moves the decoder and the head to <paramref name="dtype"/>.</summary>
    public void To(ScalarType dtype)
    {
        Backbone.to(dtype);
        score.to(dtype);
    }

    /// <summary>Moves the decoder and the head to <paramref name="device"/>.</summary>
    public void To(Device device)
    {
        Backbone.to(device);
        score.to(device);
    }

    /// <summary>Training mode on the decoder (and the head).</summary>
    public void Train(bool on = true)
    {
        Backbone.train(on);
        score.train(on);
    }

    /// <summary>Releases the decoder and the head.</summary>
    public void Dispose()
    {
        score.Dispose();
        Backbone.Dispose();
    }
}
