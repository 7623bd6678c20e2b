using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>
/// A fixed batch needing no data: ids from an integer hash (the same values bench/pytorch_dpo_step.py builds),
/// 2B rows (chosen first), prompt then completion, no padding.
/// </summary>
internal sealed record SyntheticBatch(Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor CompletionMask) : IDisposable
{
    /// <summary>Builds the batch for vocabulary <paramref name="vocab"/>.</summary>
    public static SyntheticBatch Create(int vocab, BatchShape shape)
    {
        int rows = 2 * shape.Pairs, t = shape.Prompt + shape.Completion;
        using var r = torch.arange(rows, ScalarType.Int64).unsqueeze(1); // (R, 1)
        using var c = torch.arange(t, ScalarType.Int64).unsqueeze(0); // (1, T)
        var ids = (r * 7919 + c * 104729 + 12345).remainder(vocab); // (R, T)
        var mask = torch.ones(rows, t, ScalarType.Int64);
        var pos = CausalLM.PositionsFromMask(mask);
        var completion = torch.zeros(rows, t);
        completion[.., shape.Prompt..] = torch.tensor(1f);
        return new SyntheticBatch(ids, mask, pos, completion);
    }

    /// <summary>Rows times positions.</summary>
    public long Tokens => InputIds.numel();

    /// <summary>Tokens whose log-prob is scored (completion tokens after position 0).</summary>
    public long Scored
    {
        get
        {
            using var s = CompletionMask[.., 1..].sum();
            return (long)s.item<float>();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); PositionIds.Dispose(); CompletionMask.Dispose();
    }
}
