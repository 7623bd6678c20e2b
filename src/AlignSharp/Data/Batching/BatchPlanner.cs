namespace AlignSharp.Data.Batching;

/// <summary>How examples are grouped into batches.</summary>
public enum BatchOrder
{
    /// <summary>Shuffle, sort within windows of many batches by length, cut into batches, shuffle the batches: little padding, still random.</summary>
    Bucketed,
    /// <summary>Shuffle and cut into batches.</summary>
    Random,
}

/// <summary>A place in the batch stream: the epoch and the index of a batch within it (both from 0).</summary>
public readonly record struct BatchPosition(int Epoch, int Batch)
{
    /// <inheritdoc />
    public override string ToString() => $"epoch {Epoch} batch {Batch}";
}

/// <summary>
/// Plans which examples go in which batch, per epoch, as a pure function of (lengths, batch size, seed, epoch): the
/// same inputs always give the same batches, so a run resumed at a <see cref="BatchPosition"/> sees exactly the
/// batches the interrupted run would have. Length bucketing sorts examples by length inside windows of
/// <c>bucketWindow</c> batches (a "sortish" sampler), so each batch holds similar lengths and padding shrinks, and
/// then shuffles the order of the batches.
/// </summary>
public sealed class BatchPlanner
{
    private readonly int[] _lengths;

    /// <summary>Plans batches over examples of the given lengths (tokens of the longer row of each pair).</summary>
    public BatchPlanner(IReadOnlyList<int> lengths, int batchSize, int seed, BatchOrder order = BatchOrder.Bucketed, int bucketWindow = 32, bool dropLast = false)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (bucketWindow < 1) throw new ArgumentOutOfRangeException(nameof(bucketWindow), bucketWindow, "bucket window must be at least 1");
        _lengths = [.. lengths];
        BatchSize = batchSize;
        Seed = seed;
        Order = order;
        BucketWindow = bucketWindow;
        DropLast = dropLast;
    }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>The shuffling seed.</summary>
    public int Seed { get; }

    /// <summary>Bucketed or random.</summary>
    public BatchOrder Order { get; }

    /// <summary>Batches per sorting window when bucketing.</summary>
    public int BucketWindow { get; }

    /// <summary>Whether a last, smaller batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Examples planned.</summary>
    public int Count => _lengths.Length;

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => DropLast ? _lengths.Length / BatchSize : (_lengths.Length + BatchSize - 1) / BatchSize;

    /// <summary>The batches of <paramref name="epoch"/>: each an array of example indices.</summary>
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var rng = new Random(EpochSeed(Seed, epoch));
        var order = Enumerable.Range(0, _lengths.Length).ToArray();
        rng.Shuffle(order);
        var batches = new List<int[]>();
        if (Order == BatchOrder.Random)
            batches.AddRange(order.Chunk(BatchSize));
        else
        {
            foreach (var window in order.Chunk(BatchSize * BucketWindow))
                batches.AddRange(window.OrderByDescending(i => _lengths[i]).Chunk(BatchSize)); // OrderBy is stable: ties keep shuffled order
            var shuffled = batches.ToArray();
            rng.Shuffle(shuffled);
            batches = [.. shuffled];
        }
        if (DropLast) batches.RemoveAll(b => b.Length < BatchSize);
        return batches;
    }

    /// <summary>Every batch from <paramref name="start"/> to the end of epoch <paramref name="epochs"/> - 1, with its position.</summary>
    public IEnumerable<(BatchPosition Position, int[] Indices)> From(BatchPosition start, int epochs)
    {
        for (int e = start.Epoch; e < epochs; e++)
        {
            var batches = Epoch(e);
            for (int b = e == start.Epoch ? start.Batch : 0; b < batches.Count; b++) yield return (new BatchPosition(e, b), batches[b]);
        }
    }

    /// <summary>The position after <paramref name="p"/> (where a run that finished batch <paramref name="p"/> resumes).</summary>
    public BatchPosition Next(BatchPosition p) => p.Batch + 1 < BatchesPerEpoch ? p with { Batch = p.Batch + 1 } : new BatchPosition(p.Epoch + 1, 0);

    // A fixed mix of seed and epoch (System.Random with a seed is reproducible across runs and .NET versions).
    private static int EpochSeed(int seed, int epoch) => unchecked((int)((uint)seed * 0x9E3779B1u ^ ((uint)epoch + 1) * 0x85EBCA77u));
}
