using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Training;

/// <summary>
/// Per-row completion log-prob sums (R) and scored-token counts (R); when asked for, also the per-token log-probs
/// (R, Tc) of each row's completion tokens, left-aligned (token t = the t-th completion token), and their 0/1 mask
/// (R, Tc), Tc = the longest completion. Padded slots hold 0.
/// </summary>
public sealed record RowLogProbs(Tensor Sums, Tensor Counts)
{
    /// <summary>Per-token log-probs (R, Tc), or null on the sums-only fast path.</summary>
    public Tensor? Tokens { get; init; }

    /// <summary>1 on completion tokens (R, Tc), or null on the sums-only fast path.</summary>
    public Tensor? TokenMask { get; init; }

    /// <summary>
    /// When asked for: the model's final hidden state that scores each completion token (the row at position t − 1
    /// for the token at t: the state just before it), laid out like <see cref="Tokens"/>, (R, Tc, C), with gradient;
    /// 0 in padded slots. TPO's step similarities and OREO's value head read it.
    /// </summary>
    public Tensor? TokenHidden { get; init; }

    /// <summary>
    /// Per row (R), detached: the sum over scored tokens of the token's mean logit over the vocabulary. Divided by
    /// the counts of a set of rows it is TRL's <c>logits/chosen</c> (the mean of the LM head's logits over the
    /// completion tokens and the vocabulary); null where a strategy does not compute it (cached reference rows).
    /// </summary>
    public Tensor? LogitSums { get; init; }
}

/// <summary>
/// Completion-masked sequence log-probs. The one place where the shift happens: logits at t predict token t+1.
/// Only scored positions go through the LM head, in chunks, so the full (R, T, V) log-softmax never exists; with
/// gradients the head is fused with the log-softmax (<see cref="LmHeadLogProbs"/>), so backward keeps no (N, V) either.
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>Rows of the LM head computed at once (bounds peak memory at chunk x V).</summary>
    public const int DefaultChunk = 1024;

    /// <summary>
    /// ids, attention mask, positions (R, T); completion mask (R, T) marks tokens to score (a token at t &gt; 0 is
    /// scored from the hidden state at t-1). Returns sums (R) and counts (R) in the model's dtype, or in float32 for a
    /// half-precision (bfloat16/float16) model, whose log-softmax is also taken in float32 (as TRL does); with
    /// <paramref name="perToken"/> also the scored tokens' log-probs laid out per row, (R, Tc), from the same chunks
    /// (no second forward, nothing (R, T, V)); with <paramref name="hiddenStates"/> (implies per-token) also the
    /// hidden state scoring each of those tokens, (R, Tc, C). With <paramref name="packed"/> the rows are forwarded
    /// padding-free: all rows' real tokens back to back in one row (<see cref="RowPacking"/>, no pad at all), each row
    /// a segment with its own position ids and its own causal attention (<see cref="CausalLM.ForwardSegments"/>), and
    /// with <paramref name="sharePrompts"/> rows with the same prompt (a pair's chosen and rejected) share one copy of
    /// it (<see cref="RowPacking.PackSharingPrompts"/>); the results are laid out by row exactly as without packing.
    /// </summary>
    public static RowLogProbs Compute(CausalLM model, Tensor inputIds, Tensor attentionMask, Tensor positionIds,
        Tensor completionMask, int chunk = DefaultChunk, bool perToken = false, bool hiddenStates = false,
        bool packed = false, bool sharePrompts = true)
    {
        using var scope = NewDisposeScope();
        long rows = inputIds.shape[0], t = inputIds.shape[1];
        var scored = completionMask[.., 1..].to(ScalarType.Bool); // (R, T-1): token t+1 scored from position t
        var flat = scored.reshape(-1).nonzero().squeeze(1); // (N) indices into R*(T-1)
        var targets = inputIds[.., 1..].reshape(-1).index_select(0, flat); // (N)
        var rowOf = flat.div(t - 1, rounding_mode: RoundingMode.floor); // (N)
        var source = rowOf * t + (flat - rowOf * (t - 1)); // (N): padded index r*T + t of the predicting position
        Tensor hidden; // (R, T, C), or (1, Np, C) packed
        if (packed)
        {
            var pack = sharePrompts // one row (1, Np)
                ? RowPacking.PackSharingPrompts(inputIds, attentionMask, positionIds, completionMask)
                : RowPacking.Pack(inputIds, attentionMask, positionIds, capacity: long.MaxValue);
            hidden = model.ForwardSegments(pack.InputIds, pack.PositionIds, pack.Segments); // (1, Np, C)
            source = pack.Slots.index_select(0, source); // (N): index into the Np packed positions
        }
        else hidden = model.ForwardHidden(inputIds, attentionMask, positionIds); // (R, T, C)
        long c = hidden.shape[2];
        var dtype = hidden.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : hidden.dtype;
        var h = hidden.reshape(-1, c).index_select(0, source); // (R*T or P*Tp, C) -> (N, C)
        // LM head + log-softmax + gather, fused: no (N, V) tensor outlives its chunk, with or without gradients.
        var trainable = is_grad_enabled() && model.parameters().Any(p => p.requires_grad);
        var (all, tokenLogits) = LmHeadLogProbs.Compute(model.LmHead, h, targets, chunk, dtype, trainable,
            model.PlainHeadWeight); // (N), (N)
        var sums = torch.zeros(rows, dtype, hidden.device).index_add(0, rowOf, all, 1);
        var logitSums = torch.zeros(rows, dtype, hidden.device).index_add(0, rowOf, tokenLogits, 1); // (R)
        var counts = scored.sum(1).to(dtype);
        if (!perToken && !hiddenStates)
            return new RowLogProbs(sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope())
            {
                LogitSums = logitSums.MoveToOuterDisposeScope(),
            };
        // Completion tokens are contiguous in a row, so a scored token's place in its completion is the running count.
        var place = (scored.to(ScalarType.Int64).cumsum(1) - 1).reshape(-1).index_select(0, flat); // (R, T-1) -> (N)
        long width = flat.shape[0] == 0 ? 0 : scored.sum(1).max().item<long>(); // Tc: the longest completion
        var tokens = torch.zeros(rows * width, dtype, hidden.device)
            .index_add(0, rowOf * width + place, all, 1).reshape(rows, width); // (R*Tc) -> (R, Tc)
        var tokenMask = torch.arange(width, device: hidden.device).unsqueeze(0) < scored.sum(1).unsqueeze(1); // (R, Tc)
        Tensor? tokenHidden = null;
        if (hiddenStates)
            tokenHidden = torch.zeros(rows * width, c, h.dtype, hidden.device)
                .index_add(0, rowOf * width + place, h, 1).reshape(rows, width, c); // (N, C) -> (R*Tc, C) -> (R, Tc, C)
        return new RowLogProbs(sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope())
        {
            TokenHidden = tokenHidden?.MoveToOuterDisposeScope(),
            Tokens = tokens.MoveToOuterDisposeScope(),
            TokenMask = tokenMask.to(dtype).MoveToOuterDisposeScope(),
            LogitSums = logitSums.MoveToOuterDisposeScope(),
        };
    }
}
