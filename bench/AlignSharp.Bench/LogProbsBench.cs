using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Bench;

/// <summary>
/// Peak resident memory of one log-prob computation (chunked <see cref="SequenceLogProbs"/> vs the naive full
/// log-softmax), on a one-layer GPT-2 trunk so the LM head dominates. Run each mode in its own process.
/// </summary>
internal static class LogProbsBench
{
    /// <summary>Measures one mode; <paramref name="grad"/> adds the backward pass (the policy case).</summary>
    public static JsonObject Run(string mode, int vocab, int rows, int seq, int hidden, int threads, bool grad,
        int chunk = SequenceLogProbs.DefaultChunk, int layers = 1)
    {
        torch.set_num_threads(threads);
        var cfg = ModelConfig.TinyGpt2(vocab, hidden, layers, heads: 4, maxPositions: seq);
        using var model = ModelFactory.Create(cfg, 0);
        using var batch = SyntheticBatch.Create(vocab, new BatchShape(rows / 2, seq / 2, seq - seq / 2));
        double before = ProcessMemory.RssMiB();
        ProcessMemory.ResetPeak();
        var sw = Stopwatch.StartNew();
        double forwardPeak, forwardRss;
        using (var scope = torch.NewDisposeScope())
        using (var _ = grad ? null : torch.no_grad())
        {
            var sums = mode == "naive"
                ? NaiveLogProbs.Compute(model, batch.InputIds, batch.AttentionMask, batch.PositionIds, batch.CompletionMask)
                : SequenceLogProbs.Compute(model, batch.InputIds, batch.AttentionMask, batch.PositionIds, batch.CompletionMask, chunk).Sums;
            forwardPeak = ProcessMemory.PeakMiB();
            forwardRss = ProcessMemory.RssMiB(); // what the forward leaves for backward (saved activations)
            if (grad) sums.sum().backward();
        }
        double seconds = sw.Elapsed.TotalSeconds;
        double peak = ProcessMemory.PeakMiB();
        return new JsonObject
        {
            ["kind"] = "logprobs", ["mode"] = mode, ["grad"] = grad, ["vocab"] = vocab, ["rows"] = rows, ["seq"] = seq,
            ["hidden"] = hidden, ["chunk"] = chunk, ["layers"] = layers,
            ["seconds"] = seconds, ["rss_before_mib"] = before, ["peak_rss_mib"] = peak, ["peak_delta_mib"] = Math.Round(peak - before, 1),
            ["forward_peak_delta_mib"] = Math.Round(forwardPeak - before, 1), ["after_forward_delta_mib"] = Math.Round(forwardRss - before, 1),
        };
    }
}
