namespace AlignSharp.Data.Batching;

/// <summary>
/// Padding of a batch plan: a batch of B pairs is 2B rows (chosen then rejected) padded to its longest row.
/// <see cref="Waste"/> = padded tokens / total tokens (real + padded).
/// </summary>
public sealed record PaddingStats(long RealTokens, long PaddedTokens)
{
    /// <summary>Real + padded tokens: what the model computes over.</summary>
    public long TotalTokens => RealTokens + PaddedTokens;

    /// <summary>Fraction of computed tokens that are padding.</summary>
    public double Waste => TotalTokens == 0 ? 0 : (double)PaddedTokens / TotalTokens;

    /// <summary>Measures the padding of <paramref name="batches"/> over <paramref name="pairs"/>.</summary>
    public static PaddingStats Measure(IEnumerable<int[]> batches, IReadOnlyList<TokenizedPair> pairs)
    {
        long real = 0, padded = 0;
        foreach (var b in batches)
        {
            int width = b.Max(i => pairs[i].Length);
            foreach (var i in b)
            {
                real += pairs[i].ChosenLength + pairs[i].RejectedLength;
                padded += 2L * width - pairs[i].ChosenLength - pairs[i].RejectedLength;
            }
        }
        return new PaddingStats(real, padded);
    }

    /// <inheritdoc />
    public override string ToString() => $"{PaddedTokens} padded of {TotalTokens} tokens ({Waste:P1})";
}
