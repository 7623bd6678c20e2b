using AlignSharp.Data.Batching;

namespace AlignSharp.Training;

/// <summary>Learning-rate shape after warm-up.</summary>
public enum ScheduleKind
{
    /// <summary>Linear decay to zero at the last step (TRL's default).</summary>
    Linear,
    /// <summary>Half-cosine decay to zero.</summary>
    Cosine,
    /// <summary>Constant after warm-up.</summary>
    Constant,
}

/// <summary>Optimisation settings of one run, with TRL-like defaults in one place.</summary>
public sealed record TrainingOptions
{
    /// <summary>Pairs per micro-batch (per forward).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches accumulated into one optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Optimizer steps; when 0, derived from <see cref="Epochs"/>.</summary>
    public int MaxSteps { get; init; }
    /// <summary>Passes over the training pairs, used when <see cref="MaxSteps"/> is 0.</summary>
    public double Epochs { get; init; } = 1;
    public double LearningRate { get; init; } = 5e-6;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Linear;
    /// <summary>Warm-up steps (linear from 0); takes precedence over <see cref="WarmupRatio"/> when positive.</summary>
    public int WarmupSteps { get; init; }
    public double WarmupRatio { get; init; }
    public double WeightDecay { get; init; }
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Gradient-norm clip; 0 or less disables clipping (the norm is still logged).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    public long Seed { get; init; } = 42;
    /// <summary>Log every N optimizer steps.</summary>
    public int LoggingSteps { get; init; } = 1;
    /// <summary>Evaluate every N steps (0: only at the end when eval data exists).</summary>
    public int EvalSteps { get; init; }
    /// <summary>Checkpoint every N steps (0: only at the end).</summary>
    public int SaveSteps { get; init; }
    /// <summary>Keep at most this many step checkpoints (0 keeps all).</summary>
    public int SaveTotalLimit { get; init; } = 2;
    /// <summary>Intra-op threads for libtorch (0 keeps libtorch's default).</summary>
    public int Threads { get; init; }
    /// <summary>Batch order: length-bucketed (less padding) or random; both shuffled deterministically under the seed.</summary>
    public BatchOrder BatchOrder { get; init; } = BatchOrder.Bucketed;
    /// <summary>Data-parallel runs: gradients are summed over ranks in flattened buckets of at most this many MB.</summary>
    public double AllreduceBucketMb { get; init; } = 25;
    /// <summary>A NaN or infinite loss or gradient: stop (default) or skip_batch (skip the update, count it).</summary>
    public NonFinitePolicy OnNonfinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>
    /// Recompute each decoder block during backward instead of keeping its activations (less memory, one more forward).
    /// </summary>
    public bool GradientCheckpointing { get; init; }
    /// <summary>
    /// Where the run's models live: cpu (default), cuda or cuda:N. Read once by the composition root
    /// (<c>AlignSharp.Runs</c>), which places the models; the trainer follows the policy's device.
    /// </summary>
    public string Device { get; init; } = "cpu";
    /// <summary>
    /// Where metrics go besides <c>metrics.jsonl</c> (TRL's <c>report_to</c>): <c>tensorboard</c> writes TensorBoard
    /// event files under <c>&lt;output_dir&gt;/runs</c>; empty or <c>none</c> writes nothing else.
    /// </summary>
    public IReadOnlyList<string> ReportTo { get; init; } = [];

    /// <summary>The <see cref="ReportTo"/> value that writes TensorBoard event files.</summary>
    public const string TensorBoard = "tensorboard";

    /// <summary>True when <see cref="ReportTo"/> asks for TensorBoard; an unknown destination is an error naming it.</summary>
    public bool ReportsToTensorBoard
    {
        get
        {
            foreach (var r in ReportTo)
                if (r is not (TensorBoard or "none"))
                    throw new AlignSharpException($"training.report_to: '{r}' is not supported (supported: {TensorBoard}, none)");
            return ReportTo.Contains(TensorBoard);
        }
    }
}
