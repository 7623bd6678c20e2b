using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Next-token training on whole sequences (pretraining or SFT): the mean negative log-prob of every token after the
/// first, through the same chunked log-prob path as preference training, with AdamW and the same schedule.
/// </summary>
public static class LanguageModelTrainer
{
    /// <summary>Trains <paramref name="model"/> for <c>options.MaxSteps</c> steps on random batches of <paramref name="sequences"/>; returns the loss per step.</summary>
    public static List<double> Train(CausalLM model, IReadOnlyList<int[]> sequences, TrainingOptions options, int padId, Action<int, double>? onStep = null)
    {
        if (sequences.Count < options.BatchSize) throw new AlignSharpException($"need at least {options.BatchSize} sequences to train, got {sequences.Count}");
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        model.train();
        using var optimizer = PreferenceTrainer.CreateOptimizer(model, options);
        var schedule = LearningRateSchedule.From(options, options.MaxSteps);
        var planner = new BatchPlanner(sequences.Select(s => s.Length).ToList(), options.BatchSize, unchecked((int)options.Seed), options.BatchOrder, dropLast: true);
        var stream = new BatchStream(planner, new BatchPosition(0, 0));
        var parameters = model.parameters().ToList();
        var losses = new List<double>();
        for (int s = 0; s < options.MaxSteps; s++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            // Every token after the first is scored: the first token plays the prompt.
            var rows = RowCollator.RightPad(stream.Next().Select(i => (sequences[i][..1], sequences[i][1..])).ToList(), padId);
            var r = SequenceLogProbs.Compute(model, rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask);
            var loss = -r.Sums.sum() / r.Counts.sum();
            loss.backward();
            if (options.MaxGradNorm > 0) nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = schedule.At(s);
            optimizer.step();
            losses.Add(loss.item<float>());
            onStep?.Invoke(s + 1, losses[^1]);
        }
        model.eval();
        return losses;
    }
}
