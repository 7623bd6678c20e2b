using System.Globalization;

namespace AlignSharp.Training;

/// <summary>What a run will train on: examples, batches per epoch and optimizer steps.</summary>
/// <param name="TrainExamples">Training pairs (or unpaired examples) after validation and truncation.</param>
/// <param name="EvalExamples">Evaluation examples.</param>
/// <param name="Kind">pairs, or examples (unpaired).</param>
/// <param name="BatchesPerEpoch">Batches in one epoch.</param>
/// <param name="LastBatch">Examples in each epoch's last batch (less than the batch size when partial).</param>
/// <param name="Steps">Optimizer steps of the run.</param>
public sealed record BatchPlanSummary(int TrainExamples, int EvalExamples, string Kind, int BatchesPerEpoch, int LastBatch,
    int Steps)
{
    /// <summary>The plan of <paramref name="train"/> examples under <paramref name="options"/>.</summary>
    public static BatchPlanSummary Of(TrainingOptions options, int train, int eval, string kind)
    {
        int batches = PreferenceTrainer.BatchesPerEpoch(options, train);
        int last = options.DropLast || train % options.BatchSize == 0 ? options.BatchSize : train % options.BatchSize;
        return new BatchPlanSummary(train, eval, kind, batches, last, PreferenceTrainer.StepsFor(options, train));
    }

    /// <summary>One line for logs.</summary>
    public string Describe(TrainingOptions o)
    {
        string lastText = LastBatch < o.BatchSize
            ? $" (the last holds {LastBatch}{(BatchesPerEpoch == 1 ? ": batch_size is larger than the data" : "")})"
            : o.DropLast && TrainExamples % o.BatchSize != 0
                ? $" ({TrainExamples % o.BatchSize} {Kind} dropped per epoch: drop_last)" : "";
        return $"batches: {TrainExamples} {Kind} per epoch, {BatchesPerEpoch} batch{(BatchesPerEpoch == 1 ? "" : "es")} " +
            $"of {o.BatchSize} per epoch{lastText}; {Steps} optimizer step{(Steps == 1 ? "" : "s")} " +
            $"(gradient_accumulation_steps {o.GradientAccumulationSteps}, " +
            (o.MaxSteps > 0 ? $"max_steps {o.MaxSteps})" : $"epochs {o.Epochs.ToString(CultureInfo.InvariantCulture)})") +
            $"; {EvalExamples} evaluation {Kind}";
    }
}
