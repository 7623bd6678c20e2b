using AlignSharp.Checkpoints;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

/// <summary>
/// Every folder manifest.json lists: logits at real positions, next-token log-probs, completion log-prob sums through
/// <see cref="SequenceLogProbs"/>, final-norm activations (at the logits' tolerance), RoPE frequencies and greedy
/// continuations by full recomputation (exact). Tolerances are manifest.json's; the largest differences are printed.
/// </summary>
public sealed class GoldenModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Folders => new(GoldenModel.Names);

    [Theory]
    [MemberData(nameof(Folders))]
    public void Logits_logprobs_and_completion_sums_match_the_golden_values(string folder)
    {
        var golden = GoldenModel.Load(folder);
        using var loaded = HfCheckpoint.Load(golden.Dir).Model;
        loaded.eval();
        double maxLogit = 0, maxLp = 0, maxSum = 0;
        using var noGrad = torch.no_grad();
        foreach (var b in golden.Batches)
        {
            using var scope = torch.NewDisposeScope();
            var ids = b.Ids;
            var mask = b.Mask;
            var pos = b.Positions;
            Assert.Equal(pos.data<long>().ToArray(), CausalLM.PositionsFromMask(mask).data<long>().ToArray());
            var logits = loaded.Logits(ids, mask, pos).to(ScalarType.Float64); // (B, T, V)
            var logp = logits.log_softmax(-1);
            var lg = logits.data<double>().ToArray();
            var lpa = logp.data<double>().ToArray();
            long T = ids.shape[1], V = logits.shape[2];
            for (int r = 0; r < b.InputIds.Length; r++)
                for (int t = 0; t < T; t++)
                {
                    if (b.Logits[r][t] is { } row)
                        for (int v = 0; v < V; v++) maxLogit = Math.Max(maxLogit, Math.Abs(lg[(r * T + t) * V + v] - row[v]));
                    else Assert.All(Enumerable.Range(0, (int)V), v => Assert.False(double.IsNaN(lg[(r * T + t) * V + v])));
                    if (b.NextTokenLogprobs[r][t] is double want)
                    {
                        double got = lpa[(r * T + t - 1) * V + b.InputIds[r][t]];
                        maxLp = Math.Max(maxLp, Math.Abs(got - want));
                    }
                }
            var sums = SequenceLogProbs.Compute(loaded, ids, mask, pos, b.Completion).Sums.to(ScalarType.Float64).data<double>().ToArray();
            for (int r = 0; r < sums.Length; r++) maxSum = Math.Max(maxSum, Math.Abs(sums[r] - b.CompletionLogprobSums[r]));
        }
        output.WriteLine($"{folder}: max |logit diff| {maxLogit:E2}, max |next-token logprob diff| {maxLp:E2}, max |completion sum diff| {maxSum:E2}");
        Assert.True(maxLogit <= GoldenModel.Tolerance("logits_max_abs"), $"{folder}: logits differ by {maxLogit:E3}");
        Assert.True(maxLp <= GoldenModel.Tolerance("next_token_logprob_max_abs"),
            $"{folder}: next-token log-probs differ by {maxLp:E3}");
        Assert.True(maxSum <= GoldenModel.Tolerance("completion_logprob_sum_max_abs"),
            $"{folder}: completion log-prob sums differ by {maxSum:E3}");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Final_norm_activations_and_rope_frequencies_match(string folder)
    {
        var golden = GoldenModel.Load(folder);
        var loaded = HfCheckpoint.Load(golden.Dir);
        using var model = loaded.Model;
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var single = golden.Batches.Single(b => b.Name == "single");
        var hidden = model.ForwardHidden(single.Ids, single.Mask, single.Positions).to(ScalarType.Float64)[0]; // (T, C)
        var h = hidden.data<double>().ToArray();
        long C = hidden.shape[1];
        double max = 0;
        for (int t = 0; t < golden.FinalNormOutput.Length; t++)
            for (int c = 0; c < C; c++) max = Math.Max(max, Math.Abs(h[t * C + c] - golden.FinalNormOutput[t][c]));
        output.WriteLine($"{folder}: max |final norm output diff| {max:E2}");
        Assert.True(max <= GoldenModel.Tolerance("logits_max_abs"), $"{folder}: final-norm activations differ by {max:E3}");
        if (golden.RopeInvFreq is { } inv)
        {
            var mine = Rotary.InverseFrequencies(loaded.Config);
            Assert.Equal(inv.Length, mine.Length);
            for (int i = 0; i < inv.Length; i++) Assert.True(Math.Abs(mine[i] - inv[i]) <= 1e-6 * Math.Abs(inv[i]), $"inv_freq[{i}] {mine[i]} vs {inv[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Greedy_continuation_by_full_recomputation_is_exact(string folder)
    {
        var golden = GoldenModel.Load(folder);
        using var model = HfCheckpoint.Load(golden.Dir).Model;
        using var noGrad = torch.no_grad();
        foreach (var g in golden.Greedy)
        {
            var seq = g.Prompt.ToList();
            for (int step = 0; step < g.MaxNewTokens; step++)
            {
                using var scope = torch.NewDisposeScope();
                var ids = torch.tensor(seq.ToArray()).unsqueeze(0); // (1, T)
                var mask = torch.ones_like(ids);
                var logits = model.Logits(ids, mask, CausalLM.PositionsFromMask(mask)); // (1, T, V)
                seq.Add(logits[0, -1].argmax().item<long>());
            }
            Assert.Equal(g.NewTokens, seq.Skip(g.Prompt.Length).ToArray());
        }
    }
}
