namespace AlignSharp.Models;

/// <summary>
/// One group of a packed row for per-segment attention (<see cref="CausalLM.ForwardSegments"/>): a prefix of
/// <see cref="Prefix"/> tokens, then <see cref="Branches"/> continuations of it back to back. The prefix attends
/// causally to itself; each branch attends causally to the prefix and to itself, never to another branch. A group
/// without branches is a plain causal segment (one padded row); a group with branches is the rows that share a prompt
/// (a pair's chosen and rejected completions after one copy of their prompt), so the prompt is computed once.
/// </summary>
public sealed record SegmentGroup
{
    /// <summary>A group of a <paramref name="prefix"/> (&gt; 0 tokens) and its branches (each &gt; 0 tokens).</summary>
    public SegmentGroup(long prefix, IReadOnlyList<long> branches)
    {
        if (prefix <= 0 || branches.Any(b => b <= 0))
            throw new ArgumentException($"a segment group needs a non-empty prefix and non-empty branches (got {prefix}, " +
                $"[{string.Join(", ", branches)}])", nameof(branches));
        Prefix = prefix;
        Branches = branches;
    }

    /// <summary>Tokens of the prefix.</summary>
    public long Prefix { get; }

    /// <summary>Tokens of each branch, in packed order.</summary>
    public IReadOnlyList<long> Branches { get; }

    /// <summary>Packed tokens of the group: prefix plus every branch.</summary>
    public long Length => Prefix + Branches.Sum();

    /// <summary>Plain causal segments of the given lengths (groups without branches).</summary>
    public static IReadOnlyList<SegmentGroup> Plain(IEnumerable<long> lengths) => [.. lengths.Select(l => new SegmentGroup(l, []))];
}
