using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Tests.Bench;

/// <summary>
/// The memory-saving log-prob path (LM head on scored positions only, in chunks whose temporaries are released)
/// must give the same sums and the same gradients as the naive full (R, T, V) log-softmax it replaces.
/// </summary>
public sealed class ChunkedLogProbsTests
{
    // 4 rows, T = 7, right padding; prompt lengths 2, 3, 1, 2; completion mask marks the scored tokens.
    private static readonly long[,] Ids = { { 5, 9, 17, 3, 44, 0, 0 }, { 7, 7, 8, 90, 12, 66, 1 }, { 2, 50, 51, 52, 0, 0, 0 }, { 11, 30, 95, 4, 4, 0, 0 } };
    private static readonly long[] Lengths = [5, 7, 4, 5];
    private static readonly long[] PromptLengths = [2, 3, 1, 2];

    private static (Tensor Ids, Tensor Mask, Tensor Pos, Tensor Completion) Batch()
    {
        int rows = Ids.GetLength(0), t = Ids.GetLength(1);
        var mask = new long[rows * t];
        var completion = new float[rows * t];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < Lengths[r]; i++)
            {
                mask[r * t + i] = 1;
                completion[r * t + i] = i >= PromptLengths[r] ? 1 : 0;
            }
        var ids = torch.tensor(Ids.Cast<long>().ToArray(), [rows, t]);
        var m = torch.tensor(mask, [rows, t]);
        return (ids, m, CausalLM.PositionsFromMask(m), torch.tensor(completion, [rows, t]));
    }

    private static Gpt2Model Model()
    {
        torch.manual_seed(7);
        return new Gpt2Model(ModelConfig.TinyGpt2(96, hidden: 32, layers: 2, heads: 4, maxPositions: 16));
    }

    /// <summary>Reference: full logits, full log-softmax, gather, mask, sum: the path whose memory the chunked one avoids.</summary>
    private static Tensor Naive(CausalLM model, Tensor ids, Tensor mask, Tensor pos, Tensor completion)
    {
        var lp = F.log_softmax(model.Logits(ids, mask, pos)[.., ..^1, ..], -1).gather(2, ids[.., 1..].unsqueeze(2)).squeeze(2); // (R, T-1)
        return (lp * completion[.., 1..]).sum(1); // (R)
    }

    private static Dictionary<string, float[]> Grads(CausalLM model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(1024)]
    public void ChunkedSumsAndGradientsEqualTheFullLogSoftmax(int chunk)
    {
        using var scope = torch.NewDisposeScope();
        var (ids, mask, pos, completion) = Batch();
        using var model = Model();

        var naive = Naive(model, ids, mask, pos, completion);
        // Weight each row differently so a row mix-up changes the gradients.
        var weights = torch.tensor(new[] { 1f, -2f, 0.5f, 3f });
        (naive * weights).sum().backward();
        var expectedGrads = Grads(model);
        model.zero_grad();

        var rows = SequenceLogProbs.Compute(model, ids, mask, pos, completion, chunk);
        (rows.Sums * weights).sum().backward();
        var grads = Grads(model);

        Assert.Equal(naive.data<float>().ToArray(), rows.Sums.data<float>().ToArray(), (a, b) => Math.Abs(a - b) <= 1e-4f);
        Assert.Equal(new float[] { 3, 4, 3, 3 }, rows.Counts.data<float>().ToArray());
        foreach (var (name, expected) in expectedGrads)
        {
            var actual = grads[name];
            float worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= 1e-5f, $"{name}: largest gradient difference {worst}");
        }
    }

    [Fact]
    public void WithoutGradTheChunkedPathMatchesTheFullLogSoftmax()
    {
        using var scope = torch.NewDisposeScope();
        var (ids, mask, pos, completion) = Batch();
        using var model = Model();
        using var _ = torch.no_grad();
        var naive = Naive(model, ids, mask, pos, completion).data<float>().ToArray();
        var chunked = SequenceLogProbs.Compute(model, ids, mask, pos, completion, 2).Sums.data<float>().ToArray();
        Assert.Equal(naive, chunked, (a, b) => Math.Abs(a - b) <= 1e-4f);
    }

    /// <summary>
    /// TRL's <c>logits/chosen</c> is <c>logits[loss_mask].mean()</c> over the full (R, T, V) logits: per row, the chunked
    /// path's sum of per-token vocabulary means over its token count gives the same number for any set of rows.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(1024)]
    public void LogitSumsGiveTrlsMeanLogitsOverCompletionTokens(int chunk)
    {
        using var scope = torch.NewDisposeScope();
        var (ids, mask, pos, completion) = Batch();
        using var model = Model();
        using var _ = torch.no_grad();
        var logits = model.Logits(ids, mask, pos)[.., ..^1, ..]; // (R, T-1, V): position t predicts token t+1
        var scored = completion[.., 1..].to(ScalarType.Bool); // (R, T-1)
        var rows = SequenceLogProbs.Compute(model, ids, mask, pos, completion, chunk);
        foreach (var pick in new[] { new[] { 0L, 1 }, [2L, 3], [1L] })
        {
            var index = torch.tensor(pick);
            // TRL: the selected rows' logits at loss-mask positions, (N, V), averaged over everything.
            double expected = logits.index_select(0, index)[scored.index_select(0, index)].mean().item<float>();
            double actual = rows.LogitSums!.index_select(0, index).sum().item<float>()
                / rows.Counts.index_select(0, index).sum().item<float>();
            Assert.True(Math.Abs(expected - actual) <= 1e-5, $"rows {string.Join(",", pick)}: {actual} vs {expected}");
        }
    }
}
