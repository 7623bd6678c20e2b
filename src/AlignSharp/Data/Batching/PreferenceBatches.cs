namespace AlignSharp.Data.Batching;

/// <summary>Collated batches in planned order: the glue between <see cref="BatchPlanner"/> and <see cref="PreferenceCollator"/>.</summary>
public static class PreferenceBatches
{
    /// <summary>
    /// Yields each planned batch from <paramref name="start"/> on, collated (the caller disposes each batch). To resume
    /// after the batch at position p, start at <see cref="BatchPlanner.Next"/>(p).
    /// </summary>
    public static IEnumerable<(BatchPosition Position, PreferenceBatch Batch)> Iterate(
        IReadOnlyList<TokenizedPair> pairs, BatchPlanner planner, BatchPosition start, int epochs, int padId)
    {
        foreach (var (position, indices) in planner.From(start, epochs))
            yield return (position, PreferenceCollator.Collate(indices.Select(i => pairs[i]).ToList(), padId));
    }

    /// <summary>A planner over <paramref name="pairs"/> using each pair's longer row as its length.</summary>
    public static BatchPlanner Planner(IReadOnlyList<TokenizedPair> pairs, int batchSize, int seed, BatchOrder order = BatchOrder.Bucketed, int bucketWindow = 32, bool dropLast = false) =>
        new(pairs.Select(p => p.Length).ToList(), batchSize, seed, order, bucketWindow, dropLast);
}
