using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Padded rows packed padding-free, in one of two layouts. <see cref="RowPacking.Pack"/>: the real tokens of R rows
/// placed whole, back to back, into P &lt;= R sequences of at most a token capacity (first-fit decreasing; by default
/// the longest row's length); in <see cref="SegmentMask"/> the rows of one sequence are segments 1, 2, ... and the
/// unused tail is 0, so <see cref="Attention.AdditiveMask"/> makes attention block-diagonal causal, and
/// <see cref="Segments"/> gives the same segments for per-segment attention (<see cref="CausalLM.ForwardSegments"/>).
/// <see cref="RowPacking.PackSharingPrompts"/>: one row in which rows with the same prompt share one copy of it
/// (<see cref="SegmentGroup"/>; no segment mask). Every token keeps its own position id, so each token sees exactly the
/// keys and position it had in its padded row.
/// </summary>
/// <param name="InputIds">Packed ids (P, Tp) long; tails hold 0 (masked).</param>
/// <param name="SegmentMask">(P, Tp) long: the segment number of each token, 0 in the tails; null when prompts are
/// shared (no block-diagonal mask describes that layout).</param>
/// <param name="PositionIds">(P, Tp) long: each token's position id from its padded row, 0 in the tails.</param>
/// <param name="Slots">(R * T) long: for token t of padded row r (index r * T + t), its index in the packed (P * Tp)
/// tokens, or -1 for a pad token. With shared prompts, the prompt tokens of rows sharing a prompt have the same slot.</param>
/// <param name="Segments">The P * Tp packed tokens read as one row, as segment groups: each sequence's rows in order,
/// then its tail (if any) as one more segment; or the shared-prompt groups. Their lengths sum to P * Tp.</param>
public sealed record PackedRows(Tensor InputIds, Tensor? SegmentMask, Tensor PositionIds, Tensor Slots,
    IReadOnlyList<SegmentGroup> Segments) : IDisposable
{
    /// <summary>Packed sequences P.</summary>
    public long Sequences => InputIds.shape[0];

    /// <summary>Packed width Tp: the fullest sequence's token count.</summary>
    public long Width => InputIds.shape[1];

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); SegmentMask?.Dispose(); PositionIds.Dispose(); Slots.Dispose();
    }
}

/// <summary>Packs padded rows into padding-free sequences (<see cref="PackedRows"/>).</summary>
public static class RowPacking
{
    /// <summary>
    /// Packs ids, attention mask (1 on real tokens) and position ids (R, T) into sequences of at most
    /// <paramref name="capacity"/> tokens (default: the longest row's length, so no sequence is wider than the padded
    /// rows' longest; a capacity below the longest row counts as the longest row). Each row's real tokens must be
    /// contiguous (right- or left-padded rows); the result lives on <paramref name="inputIds"/>' device.
    /// </summary>
    public static PackedRows Pack(Tensor inputIds, Tensor attentionMask, Tensor positionIds, long? capacity = null)
    {
        long rows = inputIds.shape[0], t = inputIds.shape[1];
        var ids = Longs(inputIds);
        var pos = Longs(positionIds);
        var (start, length) = Spans(attentionMask);
        long budget = Math.Max(Math.Max(1, length.DefaultIfEmpty(0).Max()), capacity ?? 0);
        // First-fit decreasing: longest rows first, each into the first sequence with room (ties keep row order).
        var bins = new List<(long Fill, List<long> Rows)>();
        foreach (long r in Enumerable.Range(0, (int)rows).Select(i => (long)i).OrderByDescending(r => length[r]))
        {
            if (length[r] == 0) continue;
            int b = bins.FindIndex(x => x.Fill + length[r] <= budget);
            if (b < 0) { bins.Add((0, [])); b = bins.Count - 1; }
            bins[b].Rows.Add(r);
            bins[b] = (bins[b].Fill + length[r], bins[b].Rows);
        }
        if (bins.Count == 0) bins.Add((0, [])); // no real token at all: one empty sequence keeps shapes valid
        long p = bins.Count, width = Math.Max(1, bins.Max(x => x.Fill));
        var packedIds = new long[p * width];
        var segments = new long[p * width];
        var positions = new long[p * width];
        var slots = new long[rows * t];
        Array.Fill(slots, -1L);
        var segmentLengths = new List<long>();
        for (int b = 0; b < p; b++)
        {
            segmentLengths.AddRange(bins[b].Rows.Select(r => length[r]));
            if (bins[b].Fill < width) segmentLengths.Add(width - bins[b].Fill); // the tail: a segment nobody reads
            long at = b * width;
            for (int s = 0; s < bins[b].Rows.Count; s++)
            {
                long r = bins[b].Rows[s];
                for (long i = 0; i < length[r]; i++, at++)
                {
                    long from = r * t + start[r] + i;
                    packedIds[at] = ids[from];
                    segments[at] = s + 1;
                    positions[at] = pos[from];
                    slots[from] = at;
                }
            }
        }
        var device = inputIds.device;
        return new PackedRows(torch.tensor(packedIds, [p, width], device: device),
            torch.tensor(segments, [p, width], device: device), torch.tensor(positions, [p, width], device: device),
            torch.tensor(slots, device: device), SegmentGroup.Plain(segmentLengths));
    }

    /// <summary>
    /// Packs rows (R, T) into one row (1, N) without any pad, sharing prompts: rows whose prompt (the real tokens
    /// before the first completion token of <paramref name="completionMask"/>) has the same ids and positions form one
    /// <see cref="SegmentGroup"/>, the prompt once and then each row's completion as a branch, so a pair's prompt is
    /// computed once for its chosen and its rejected row. A row without prompt or completion, or whose prompt no other
    /// row has, is a plain segment. Groups keep the order of their first row. Each row's real tokens must be contiguous.
    /// </summary>
    public static PackedRows PackSharingPrompts(Tensor inputIds, Tensor attentionMask, Tensor positionIds,
        Tensor completionMask)
    {
        long rows = inputIds.shape[0], t = inputIds.shape[1];
        var ids = Longs(inputIds);
        var pos = Longs(positionIds);
        var completion = Longs(completionMask);
        var (start, length) = Spans(attentionMask);
        var prompt = new long[rows]; // real tokens before the row's first completion token
        for (long r = 0; r < rows; r++)
            while (prompt[r] < length[r] && completion[r * t + start[r] + prompt[r]] == 0) prompt[r]++;
        // Rows keyed by their prompt's ids and first position; a row without prompt or completion stays alone.
        var groups = new List<List<long>>();
        var byPrompt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (long r = 0; r < rows; r++)
        {
            if (length[r] == 0) continue;
            bool branches = prompt[r] > 0 && prompt[r] < length[r];
            string key = branches
                ? $"{pos[r * t + start[r]]}:{string.Join(',', ids.Skip((int)(r * t + start[r])).Take((int)prompt[r]))}"
                : $"row {r}";
            if (!byPrompt.TryGetValue(key, out int g)) { byPrompt[key] = g = groups.Count; groups.Add([]); }
            groups[g].Add(r);
        }
        var layout = groups.Select(g => g.Count == 1
            ? new SegmentGroup(length[g[0]], []) // alone: a plain segment
            : new SegmentGroup(prompt[g[0]], [.. g.Select(r => length[r] - prompt[r])])).ToList();
        long n = Math.Max(1, layout.Sum(x => x.Length));
        if (layout.Count == 0) layout.Add(new SegmentGroup(1, [])); // no real token at all: one masked slot
        var packedIds = new long[n];
        var positions = new long[n];
        var slots = new long[rows * t];
        Array.Fill(slots, -1L);
        long at = 0;
        foreach (var g in groups)
        {
            long shared = g.Count == 1 ? length[g[0]] : prompt[g[0]];
            long head = at;
            for (long i = 0; i < shared; i++, at++) // the prompt (or the whole row), once
            {
                long from = g[0] * t + start[g[0]] + i;
                (packedIds[at], positions[at]) = (ids[from], pos[from]);
            }
            foreach (long r in g)
            {
                for (long i = 0; i < Math.Min(shared, length[r]); i++) slots[r * t + start[r] + i] = head + i;
                for (long i = shared; i < length[r]; i++, at++) // this row's completion: a branch
                {
                    long from = r * t + start[r] + i;
                    (packedIds[at], positions[at], slots[from]) = (ids[from], pos[from], at);
                }
            }
        }
        var device = inputIds.device;
        return new PackedRows(torch.tensor(packedIds, [1, n], device: device), null,
            torch.tensor(positions, [1, n], device: device), torch.tensor(slots, device: device), layout);
    }

    /// <summary>Each row's first real token and real-token count; refuses rows whose real tokens have holes.</summary>
    private static (long[] Start, long[] Length) Spans(Tensor attentionMask)
    {
        long rows = attentionMask.shape[0], t = attentionMask.shape[1];
        var mask = Longs(attentionMask);
        var start = new long[rows];
        var length = new long[rows];
        for (long r = 0; r < rows; r++)
        {
            long first = -1, count = 0;
            for (long i = 0; i < t; i++)
                if (mask[r * t + i] != 0) { if (first < 0) first = i; count++; }
            if (count > 0 && mask.AsSpan((int)(r * t + first), (int)count).IndexOf(0L) >= 0)
                throw new ArgumentException($"row {r}: packing needs each row's tokens to be contiguous", nameof(attentionMask));
            (start[r], length[r]) = (Math.Max(first, 0), count);
        }
        return (start, length);
    }

    private static long[] Longs(Tensor x)
    {
        using var cpu = x.to(ScalarType.Int64).cpu().contiguous();
        return cpu.data<long>().ToArray();
    }
}
