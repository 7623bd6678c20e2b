using AlignSharp.Data;
using AlignSharp.Data.Batching;

namespace AlignSharp.Tests.Data;

/// <summary>HH tokenized once with the byte tokenizer (max_length 1024, max_prompt_length 768).</summary>
public sealed class HhTokenizedFixture
{
    public TokenizedData Data { get; } = TokenizedData.Load(Hh.Path, new TestByteTokenizer(), new TokenizationOptions(1024, 768));
}

public sealed class BatchingTests(HhTokenizedFixture hh) : IClassFixture<HhTokenizedFixture>
{
    private const int BatchSize = 8, Seed = 1234;

    [Fact]
    public void Bucketing_cuts_padding_versus_random_batching_on_hh()
    {
        var pairs = hh.Data.Pairs;
        var bucketed = PaddingStats.Measure(PreferenceBatches.Planner(pairs, BatchSize, Seed, BatchOrder.Bucketed).Epoch(0), pairs);
        var random = PaddingStats.Measure(PreferenceBatches.Planner(pairs, BatchSize, Seed, BatchOrder.Random).Epoch(0), pairs);
        Assert.Equal(bucketed.RealTokens, random.RealTokens); // same tokens, different grouping
        Assert.True(bucketed.Waste < random.Waste / 2, $"bucketed {bucketed} vs random {random}");
        Console.WriteLine($"HH padding (batch {BatchSize}, byte tokenizer, max_length 1024): bucketed {bucketed}; random {random}");
    }

    [Theory]
    [InlineData(BatchOrder.Bucketed)]
    [InlineData(BatchOrder.Random)]
    public void Each_epoch_uses_every_example_exactly_once_and_epochs_differ(BatchOrder order)
    {
        var planner = PreferenceBatches.Planner(hh.Data.Pairs, BatchSize, Seed, order);
        var e0 = planner.Epoch(0);
        var e1 = planner.Epoch(1);
        Assert.Equal(Enumerable.Range(0, hh.Data.Pairs.Count), e0.SelectMany(b => b).Order());
        Assert.Equal(Enumerable.Range(0, hh.Data.Pairs.Count), e1.SelectMany(b => b).Order());
        Assert.Equal(planner.BatchesPerEpoch, e0.Count);
        Assert.NotEqual(e0.Select(b => b[0]), e1.Select(b => b[0]));
        Assert.Equal(e0, PreferenceBatches.Planner(hh.Data.Pairs, BatchSize, Seed, order).Epoch(0)); // same seed, same plan
        Assert.NotEqual(e0, PreferenceBatches.Planner(hh.Data.Pairs, BatchSize, Seed + 1, order).Epoch(0));
    }

    [Fact]
    public void Resuming_mid_epoch_yields_the_same_remaining_batches()
    {
        var pairs = hh.Data.Pairs;
        var uninterrupted = PreferenceBatches.Planner(pairs, BatchSize, Seed).From(new BatchPosition(0, 0), epochs: 2).ToList();
        // A run stops after the batch at epoch 0, batch 100; a new process builds a new planner and resumes after it.
        var stoppedAt = uninterrupted[100].Position;
        var resumed = PreferenceBatches.Planner(pairs, BatchSize, Seed).From(new BatchPlanner(pairs.Select(p => p.Length).ToList(), BatchSize, Seed).Next(stoppedAt), epochs: 2).ToList();
        Assert.Equal(uninterrupted.Skip(101).Select(b => b.Position), resumed.Select(b => b.Position));
        Assert.Equal(uninterrupted.Skip(101).Select(b => b.Indices), resumed.Select(b => b.Indices));
        // Collated batches are identical token for token.
        var a = PreferenceBatches.Iterate(pairs, PreferenceBatches.Planner(pairs, BatchSize, Seed), new BatchPosition(0, 101), 1, TestByteTokenizer.Pad).Take(2).ToList();
        Assert.Equal(uninterrupted[101].Indices.Length, a[0].Batch.Count);
        Assert.Equal(uninterrupted[101].Indices.Select(i => pairs[i].Length).Max(), a[0].Batch.InputIds.shape[1]);
        Assert.Equal(new BatchPosition(0, 102), a[1].Position);
        foreach (var (_, batch) in a) batch.Dispose();
    }

    [Fact]
    public void Next_position_rolls_over_to_the_next_epoch()
    {
        var planner = new BatchPlanner([1, 2, 3, 4, 5], batchSize: 2, seed: 0);
        Assert.Equal(3, planner.BatchesPerEpoch);
        Assert.Equal(new BatchPosition(0, 2), planner.Next(new BatchPosition(0, 1)));
        Assert.Equal(new BatchPosition(1, 0), planner.Next(new BatchPosition(0, 2)));
        Assert.Equal(2, new BatchPlanner([1, 2, 3, 4, 5], batchSize: 2, seed: 0, dropLast: true).Epoch(0).Count);
    }
}
