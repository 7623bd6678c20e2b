using AlignSharp.Data.Batching;

namespace AlignSharp.Training;

/// <summary>Walks a <see cref="BatchPlanner"/> batch by batch across epochs, exposing the resumable position.</summary>
public sealed class BatchStream(BatchPlanner plan, BatchPosition start)
{
    private BatchPosition position = start;
    private IReadOnlyList<int[]> current = plan.Epoch(start.Epoch);

    /// <summary>The position of the next batch.</summary>
    public BatchPosition Position => position;

    /// <summary>Fractional epochs consumed (for the TRL "epoch" metric).</summary>
    public double EpochProgress => position.Epoch + (double)position.Batch / Math.Max(1, current.Count);

    /// <summary>The next batch of pair indices, moving to the next epoch when one ends.</summary>
    public int[] Next()
    {
        while (position.Batch >= current.Count)
        {
            if (current.Count == 0)
                throw new AlignSharpException($"training.drop_last: the {plan.Count} training examples make no full " +
                    $"batch of training.batch_size {plan.BatchSize}; lower batch_size, add data or set drop_last: false");
            position = new BatchPosition(position.Epoch + 1, 0);
            current = plan.Epoch(position.Epoch);
        }
        var batch = current[position.Batch];
        position = position with { Batch = position.Batch + 1 };
        return batch;
    }
}
