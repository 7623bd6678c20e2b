namespace AlignSharp.Training;

/// <summary>Where a run is in its data: epoch and next batch within it. Saved with checkpoints.</summary>
public sealed record DataPosition(int Epoch, int Batch);

/// <summary>Orders pair indices into batches for each epoch, deterministically, so a position can be resumed.</summary>
public interface IBatchPlan
{
    /// <summary>Batches of pair indices for <paramref name="epoch"/>; the same epoch always gives the same batches.</summary>
    IReadOnlyList<int[]> Epoch(int epoch);
}

/// <summary>Shuffled (or in-order) fixed-size batches; a last short batch is dropped so every step sees full batches.</summary>
public sealed class ShuffledBatchPlan(int count, int batchSize, long seed, bool shuffle = true) : IBatchPlan
{
    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        if (shuffle) new Random(unchecked((int)(seed * 1_000_003 + epoch))).Shuffle(order);
        return order.Chunk(batchSize).Where(c => c.Length == batchSize).ToArray();
    }
}

/// <summary>Walks a plan batch by batch across epochs, exposing the resumable position.</summary>
public sealed class BatchStream(IBatchPlan plan, DataPosition start)
{
    private DataPosition position = start;
    private IReadOnlyList<int[]> current = plan.Epoch(start.Epoch);

    /// <summary>The position of the next batch.</summary>
    public DataPosition Position => position;

    /// <summary>Fractional epochs consumed (for the TRL "epoch" metric).</summary>
    public double EpochProgress => position.Epoch + (double)position.Batch / Math.Max(1, current.Count);

    /// <summary>The next batch of pair indices, moving to the next epoch when one ends.</summary>
    public int[] Next()
    {
        while (position.Batch >= current.Count)
        {
            if (current.Count == 0) throw new AlignSharpException("the training data yields no full batch: lower batch_size or add data");
            position = new DataPosition(position.Epoch + 1, 0);
            current = plan.Epoch(position.Epoch);
        }
        var batch = current[position.Batch];
        position = position with { Batch = position.Batch + 1 };
        return batch;
    }
}
