using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Padded rows packed padding-free: the real tokens of R rows placed whole, back to back, into P &lt;= R sequences of at
/// most a token capacity (first-fit decreasing; by default the longest row's length). In <see cref="SegmentMask"/> the
/// rows of one sequence are segments 1, 2, ... and the unused tail is 0, so <see cref="Attention.AdditiveMask"/> makes
/// attention block-diagonal causal; <see cref="SegmentLengths"/> gives the same segments for per-segment attention
/// (<see cref="CausalLM.ForwardSegments"/>). Every token keeps its own position id, so each token sees exactly the keys
/// and position it had in its padded row, and no pad token is computed except the tails of the packed sequences.
/// </summary>
/// <param name="InputIds">Packed ids (P, Tp) long; tails hold 0 (masked).</param>
/// <param name="SegmentMask">(P, Tp) long: the segment number of each token, 0 in the tails.</param>
/// <param name="PositionIds">(P, Tp) long: each token's position id from its padded row, 0 in the tails.</param>
/// <param name="Slots">(R * T) long: for token t of padded row r (index r * T + t), its index in the packed (P * Tp)
/// tokens, or -1 for a pad token.</param>
/// <param name="SegmentLengths">The segments of the P * Tp packed tokens read as one row: each sequence's rows in order,
/// then its tail (if any) as one more segment; they sum to P * Tp.</param>
public sealed record PackedRows(Tensor InputIds, Tensor SegmentMask, Tensor PositionIds, Tensor Slots,
    IReadOnlyList<long> SegmentLengths) : IDisposable
{
    /// <summary>Packed sequences P.</summary>
    public long Sequences => InputIds.shape[0];

    /// <summary>Packed width Tp: the fullest sequence's token count.</summary>
    public long Width => InputIds.shape[1];

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); SegmentMask.Dispose(); PositionIds.Dispose(); Slots.Dispose();
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
        var mask = Longs(attentionMask);
        var pos = Longs(positionIds);
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
            if (bins[b].Fill < width) segmentLengths.Add(width - bins[b].Fill); // the tail
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
            torch.tensor(slots, device: device), segmentLengths);
    }

    private static long[] Longs(Tensor x)
    {
        using var cpu = x.to(ScalarType.Int64).cpu().contiguous();
        return cpu.data<long>().ToArray();
    }
}
