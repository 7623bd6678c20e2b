using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Data;

/// <summary>
/// One collated batch of B pairs as 2B rows: chosen rows 0..B-1, then rejected rows B..2B-1, right-padded to T.
/// <c>CompletionMask[r, t]</c> is 1 where token t of row r is a completion token (scored by log-probs; prompt
/// tokens never are). Tensors live on the CPU; the trainer moves them.
/// </summary>
public sealed record PreferenceBatch(Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor CompletionMask, IReadOnlyList<TokenizedPair> Pairs) : IDisposable
{
    /// <summary>Pairs in the batch (B).</summary>
    public int Count => Pairs.Count;

    /// <summary>Per-pair numeric extras gathered into (B) tensors, for keys every pair has.</summary>
    public Dictionary<string, Tensor> Extras(ScalarType dtype)
    {
        var keys = Pairs.Count == 0 ? [] : Pairs[0].Example.Extras.Keys.Where(k => Pairs.All(p => p.Example.Extras.ContainsKey(k)));
        return keys.ToDictionary(k => k, k => torch.tensor(Pairs.Select(p => p.Example.Extras[k]).ToArray()).to(dtype));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); PositionIds.Dispose(); CompletionMask.Dispose();
    }
}

/// <summary>Right-padded (prompt + completion) rows as tensors: ids, attention mask, positions and completion mask (R, T).</summary>
public sealed record PaddedRows(Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor CompletionMask);

/// <summary>The one right-padding collator: every path that scores completions builds its rows here.</summary>
public static class RowCollator
{
    /// <summary>
    /// One row per (prompt, completion), right-padded with <paramref name="padId"/> to the longest; completion tokens
    /// are marked in the completion mask (prompt tokens never are).
    /// </summary>
    public static PaddedRows RightPad(IReadOnlyList<(int[] Prompt, int[] Completion)> rows, int padId, Device? device = null)
    {
        int n = rows.Count, t = rows.Max(r => r.Prompt.Length + r.Completion.Length);
        var ids = new long[n * t];
        var mask = new long[n * t];
        var pos = new long[n * t];
        var completion = new float[n * t];
        Array.Fill(ids, padId);
        for (int r = 0; r < n; r++)
        {
            var (prompt, comp) = rows[r];
            for (int i = 0; i < prompt.Length + comp.Length; i++)
            {
                int k = r * t + i;
                ids[k] = i < prompt.Length ? prompt[i] : comp[i - prompt.Length];
                mask[k] = 1;
                pos[k] = i;
                completion[k] = i >= prompt.Length ? 1 : 0;
            }
        }
        return new PaddedRows(torch.tensor(ids, [n, t], device: device), torch.tensor(mask, [n, t], device: device),
            torch.tensor(pos, [n, t], device: device), torch.tensor(completion, [n, t], device: device));
    }
}

/// <summary>Builds <see cref="PreferenceBatch"/>es: one row per (prompt + completion), chosen rows first.</summary>
public static class PreferenceCollator
{
    /// <summary>Collates pairs into 2B right-padded rows.</summary>
    public static PreferenceBatch Collate(IReadOnlyList<TokenizedPair> pairs, int padId)
    {
        var rows = RowCollator.RightPad(
            [.. pairs.Select(p => (p.Prompt, p.Chosen)), .. pairs.Select(p => (p.Prompt, p.Rejected))], padId);
        return new PreferenceBatch(rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask, pairs);
    }
}
