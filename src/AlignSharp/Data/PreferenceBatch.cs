using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Data;

/// <summary>What the rows of a <see cref="PreferenceBatch"/> are.</summary>
public enum BatchKind
{
    /// <summary>B preference pairs as 2B rows: chosen rows 0..B-1, then rejected rows B..2B-1.</summary>
    Pairs,
    /// <summary>N unpaired (prompt, completion, desirable/undesirable) examples as N rows (KTO).</summary>
    Unpaired,
    /// <summary>
    /// B prompts with N scored, step-split responses each (TPO's trees; OREO's solutions, N = 1) as N·B rows: row
    /// s·B + b is response s of prompt b.
    /// </summary>
    Responses,
}

/// <summary>
/// One collated batch of examples as rows of (prompt + completion), right-padded to T: for
/// <see cref="BatchKind.Pairs"/> B pairs as 2B rows (chosen rows 0..B-1, then rejected rows B..2B-1), for <see cref="BatchKind.Unpaired"/> N
/// examples as N rows. <c>CompletionMask[r, t]</c> is 1 where token t of row r is a completion token (scored by
/// log-probs; prompt tokens never are). Tensors live on the CPU; the trainer moves them.
/// </summary>
public sealed record PreferenceBatch(Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor CompletionMask, IReadOnlyList<TokenizedPair> Pairs) : IDisposable
{
    /// <summary>The unpaired examples of an unpaired batch (one row each); null for a batch of pairs.</summary>
    public IReadOnlyList<TokenizedUnpaired>? Examples { get; init; }

    /// <summary>
    /// Forward the rows padding-free (<c>training.padding_free</c>): log-prob passes pack whole rows back to back under
    /// a block-diagonal causal mask (<c>Training.RowPacking</c>) instead of running the padded (R, T) tensors. The
    /// tensors here stay padded; results are the same per row.
    /// </summary>
    public bool Packed { get; init; }

    /// <summary>The trees of a batch of scored responses (N rows per prompt); null otherwise.</summary>
    public IReadOnlyList<TokenizedTree>? Trees { get; init; }

    /// <summary>Pairs, unpaired examples or scored responses.</summary>
    public BatchKind Kind => Trees is not null ? BatchKind.Responses
        : Examples is null ? BatchKind.Pairs : BatchKind.Unpaired;

    /// <summary>Examples in the batch: B pairs, N unpaired examples or B prompts with their responses.</summary>
    public int Count => Trees?.Count ?? Examples?.Count ?? Pairs.Count;

    /// <summary>
    /// The (prompt, completion) of every row, in row order; the rows are <see cref="Slots"/> groups of
    /// <see cref="Count"/>, group s holding the s-th completion of each example (pairs: chosen, then rejected).
    /// </summary>
    public IReadOnlyList<(int[] Prompt, int[] Completion)> Rows => Trees is { } trees
        ? PreferenceCollator.TreeRows(trees)
        : Examples is { } u
        ? [.. u.Select(x => (x.Prompt, x.Completion))]
        : [.. Pairs.Select(p => (p.Prompt, p.Chosen)), .. Pairs.Select(p => (p.Prompt, p.Rejected))];

    /// <summary>Completions per example: 2 for pairs, 1 for unpaired examples, N for scored responses.</summary>
    public int Slots => Kind switch
    {
        BatchKind.Pairs => 2,
        BatchKind.Responses => Trees![0].Count,
        _ => 1,
    };

    /// <summary>Per-example numeric extras gathered into (B) or (N) tensors, for keys every example has.</summary>
    public Dictionary<string, Tensor> Extras(ScalarType dtype)
    {
        if (Trees is not null) return [];
        var all = Examples is { } u
            ? u.Select(x => x.Example.Extras).ToList()
            : Pairs.Select(p => p.Example.Extras).ToList();
        var keys = all.Count == 0 ? [] : all[0].Keys.Where(k => all.All(e => e.ContainsKey(k)));
        return keys.ToDictionary(k => k, k => torch.tensor(all.Select(e => e[k]).ToArray()).to(dtype));
    }

    /// <summary>Desirable (1) or undesirable (0) per example (N), for an unpaired batch; (0) for pairs.</summary>
    public Tensor Labels(ScalarType dtype) =>
        torch.tensor((Examples ?? []).Select(x => x.Example.Label ? 1.0 : 0.0).ToArray()).to(dtype);

    /// <summary>
    /// The same batch with every completion moved to another example's prompt: row (s, i) becomes (prompt i,
    /// completion s of example <c>order[i]</c>), so with a rotation no completion answers its prompt (KTO's KL
    /// estimate). Pad slots are masked, so any <paramref name="padId"/> works.
    /// </summary>
    public PreferenceBatch Mismatched(IReadOnlyList<int> order, int padId = 0)
    {
        if (order.Count != Count)
            throw new ArgumentException($"order has {order.Count} entries for {Count} examples", nameof(order));
        var mismatched = Examples is { } u
            ? PreferenceCollator.Collate([.. u.Select((x, i) => x with { Completion = u[order[i]].Completion })], padId)
            : PreferenceCollator.Collate(
                [.. Pairs.Select((p, i) => p with { Chosen = Pairs[order[i]].Chosen, Rejected = Pairs[order[i]].Rejected })],
                padId);
        return mismatched with { Packed = Packed };
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

/// <summary>Builds <see cref="PreferenceBatch"/>es: one row per (prompt + completion), pairs' chosen rows first.</summary>
public static class PreferenceCollator
{
    /// <summary>Collates pairs into 2B right-padded rows.</summary>
    public static PreferenceBatch Collate(IReadOnlyList<TokenizedPair> pairs, int padId)
    {
        var rows = RowCollator.RightPad(
            [.. pairs.Select(p => (p.Prompt, p.Chosen)), .. pairs.Select(p => (p.Prompt, p.Rejected))], padId);
        return new PreferenceBatch(rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask, pairs);
    }

    /// <summary>
    /// Collates B trees of N responses each into N·B right-padded rows, response-major (row s·B + b = response s of
    /// tree b); every tree must have the same N.
    /// </summary>
    public static PreferenceBatch Collate(IReadOnlyList<TokenizedTree> trees, int padId)
    {
        var rows = RowCollator.RightPad(TreeRows(trees), padId);
        return new PreferenceBatch(rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask, [])
        {
            Trees = trees,
        };
    }

    /// <summary>The (prompt, response) rows of <paramref name="trees"/>, response-major.</summary>
    public static IReadOnlyList<(int[] Prompt, int[] Completion)> TreeRows(IReadOnlyList<TokenizedTree> trees)
    {
        int n = trees[0].Count;
        if (trees.Any(t => t.Count != n))
            throw new ArgumentException(
                $"trees in one batch need the same number of responses (found {string.Join(", ", trees.Select(t => t.Count).Distinct())})",
                nameof(trees));
        return [.. Enumerable.Range(0, n).SelectMany(s => trees.Select(t => (t.Prompt, t.Responses[s])))];
    }

    /// <summary>Collates unpaired examples into N right-padded rows.</summary>
    public static PreferenceBatch Collate(IReadOnlyList<TokenizedUnpaired> examples, int padId)
    {
        var rows = RowCollator.RightPad([.. examples.Select(x => (x.Prompt, x.Completion))], padId);
        return new PreferenceBatch(rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask, [])
        {
            Examples = examples,
        };
    }
}
