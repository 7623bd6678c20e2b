using AlignSharp.Tests.Cli;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Cli;
using AlignSharp.Evaluation;
using AlignSharp.Tests.Training;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Rewards;

/// <summary>CHES (likelihood displacement): the definition on tiny hidden states, the batched scores against it, the filter.</summary>
[Collection("Console")]
public sealed class ChesTests
{
    [Fact]
    public void Ches_is_the_inner_product_of_the_summed_embeddings_minus_the_chosen_norm()
    {
        // h+ = (1, 0) + (0, 1) = (1, 1), h- = (2, 1): <h+, h-> - |h+|^2 = 3 - 2 = 1.
        var chosen = tensor(new[] { 1.0, 0, 0, 1 }, [2, 2]);
        var rejected = tensor(new[] { 2.0, 1 }, [1, 2]);
        Assert.Equal(1.0, Ches.FromHidden(chosen, rejected), 12);
    }

    [Fact]
    public void Batched_scores_equal_a_direct_computation_per_pair()
    {
        using var model = TinyRun.Model(2);
        var pairs = TinyRun.Pairs(5, seed: 9);
        var batched = Ches.Scores(model, pairs, padId: 0, batchSize: 3); // padded batches of 3 and 2 pairs
        using var _ = no_grad();
        for (int i = 0; i < pairs.Count; i++)
        {
            Tensor Hidden(int[] completion)
            {
                int[] row = [.. pairs[i].Prompt, .. completion];
                var ids = tensor(row.Select(x => (long)x).ToArray(), [1, row.Length]);
                var mask = ones_like(ids);
                var hidden = model.ForwardHidden(ids, mask, arange(row.Length).unsqueeze(0))[0]; // (T, C)
                // the states that predict the completion's tokens: positions |prompt| - 1 .. |row| - 2
                return hidden[(pairs[i].Prompt.Length - 1)..(row.Length - 1)];
            }
            double direct = Ches.FromHidden(Hidden(pairs[i].Chosen), Hidden(pairs[i].Rejected));
            Assert.True(Math.Abs(direct - batched[i]) < 1e-4 * Math.Max(1, Math.Abs(direct)),
                $"pair {i}: direct {direct}, batched {batched[i]}");
        }
    }

    [Fact]
    public void The_filter_drops_the_highest_scores_and_keeps_the_order()
    {
        Assert.Equal([0, 2], Ches.Keep([0.5, 3, -1, 2], 0.5));
        Assert.Equal([0, 1, 2, 3], Ches.Keep([0.5, 3, -1, 2], 0));
        Assert.Equal([0, 2, 3], Ches.Keep([0.5, 3, -1, 2], 0.3)); // floor(0.3 * 4) = 1 dropped
        Assert.Throws<EvaluationException>(() => Ches.Keep([1.0], 1));
    }

    [Fact]
    public void Data_filter_writes_the_kept_pairs_with_their_scores()
    {
        string dir = TinyRun.TempDir();
        using (var lm = AlignSharp.Models.ModelFactory.Create(AlignSharp.Models.ModelConfig.TinyGpt2(259, hidden: 16, layers: 1, heads: 2, maxPositions: 64)))
            HfCheckpoint.Save(lm, Path.Combine(dir, "lm"));
        string data = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes{i}\",\"rejected\":\" no\"}}"));
        string output = Path.Combine(dir, "kept.jsonl");
        var (code, stdout, _) = CliConsole.Run("data", "filter", "--data", data, "--model", Path.Combine(dir, "lm"), "--tokenizer", "byte",
            "--ches-quantile", "0.25", "--output", output);
        Assert.Equal(0, code);
        var kept = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(6, kept.Count);
        Assert.All(kept, k => Assert.True(double.IsFinite(k!["ches_score"]!.GetValue<double>())));
        Assert.Contains("kept 6 of 8 pairs", stdout);
    }
}
