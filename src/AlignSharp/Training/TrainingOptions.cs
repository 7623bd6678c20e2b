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

/// <summary>The dtype a run's matmuls compute in (<c>training.precision</c>).</summary>
public enum ComputePrecision
{
    /// <summary>Everything in the parameters' dtype (the default).</summary>
    Float32,
    /// <summary>
    /// Autocast-style mixed precision: the decoder's projections (attention and MLP matmuls) in bfloat16; float32
    /// master weights, gradients and optimizer state; norms, softmax, attention, the LM head, the loss and the log-prob
    /// sums in float32 (<c>Models.MatmulCast</c>).
    /// </summary>
    Bfloat16,
}

/// <summary>
/// Optimisation settings of one run (the <c>training:</c> section), with TRL-like defaults in one place. Each key's
/// meaning, TRL name and range are in its <see cref="SettingAttribute"/> (docs/config.md is generated from them).
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Pairs per micro-batch (per forward); under MPI the global batch, split across ranks.</summary>
    [Setting("Pairs per micro-batch (one forward); under MPI the global batch, split across ranks. Evaluation uses it too.",
        Trl = "per_device_train_batch_size, per_device_eval_batch_size", Min = 1)]
    public int BatchSize { get; init; } = 8;

    /// <summary>Micro-batches accumulated into one optimizer step.</summary>
    [Setting("Micro-batches accumulated into one optimizer step.", Trl = "gradient_accumulation_steps", Min = 1)]
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Optimizer steps; 0 or -1 (TRL's default): derived from <see cref="Epochs"/>.</summary>
    [Setting("Optimizer steps; 0 or -1 (TRL's default): derived from epochs.", Trl = "max_steps", Min = -1)]
    public int MaxSteps { get; init; }

    /// <summary>Passes over the training pairs, used when <see cref="MaxSteps"/> is 0 or -1.</summary>
    [Setting("Passes over the training pairs (fractions allowed), used when max_steps is 0 or -1.",
        Trl = "num_train_epochs", Min = 0, MinExclusive = true)]
    public double Epochs { get; init; } = 1;

    /// <summary>Peak learning rate of AdamW.</summary>
    [Setting("Peak learning rate of AdamW (reached after warm-up).", Trl = "learning_rate", Min = 0, MinExclusive = true)]
    public double LearningRate { get; init; } = 5e-6;

    /// <summary>Learning-rate shape after warm-up.</summary>
    [Setting("Learning-rate shape after warm-up.", Trl = "lr_scheduler_type")]
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Linear;

    /// <summary>Warm-up steps (linear from 0); takes precedence over <see cref="WarmupRatio"/> when positive.</summary>
    [Setting("Warm-up steps (linear from 0); wins over warmup_ratio when positive.", Trl = "warmup_steps", Min = 0)]
    public int WarmupSteps { get; init; }

    /// <summary>Warm-up as a fraction of the run's steps.</summary>
    [Setting("Warm-up as a fraction of the run's optimizer steps.", Trl = "warmup_ratio", Min = 0, Max = 1)]
    public double WarmupRatio { get; init; }

    /// <summary>AdamW weight decay (not applied to 1-D tensors: biases, norms).</summary>
    [Setting("AdamW weight decay (not applied to 1-D tensors: biases and norms).", Trl = "weight_decay", Min = 0)]
    public double WeightDecay { get; init; }

    /// <summary>AdamW's first-moment decay.</summary>
    [Setting("AdamW's first-moment decay.", Trl = "adam_beta1", Min = 0, Max = 1, MaxExclusive = true)]
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>AdamW's second-moment decay.</summary>
    [Setting("AdamW's second-moment decay.", Trl = "adam_beta2", Min = 0, Max = 1, MaxExclusive = true)]
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>AdamW's denominator epsilon.</summary>
    [Setting("AdamW's denominator epsilon.", Trl = "adam_epsilon", Min = 0, MinExclusive = true)]
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Gradient-norm clip; 0 disables clipping (the norm is still logged).</summary>
    [Setting("Gradient-norm clip; 0 disables clipping (grad_norm is still logged).", Trl = "max_grad_norm", Min = 0)]
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Seed of data order, splits, fresh weights, adapters and the objectives' sampling.</summary>
    [Setting("Seed of the data split and order, fresh weights and adapters, and objectives that sample.", Trl = "seed",
        Min = 0)]
    public long Seed { get; init; } = 42;

    /// <summary>Log every N optimizer steps.</summary>
    [Setting("Write a metrics line every N optimizer steps (and at the last).", Trl = "logging_steps", Min = 1)]
    public int LoggingSteps { get; init; } = 1;

    /// <summary>Evaluate every N steps (0: only at the end when eval data exists).</summary>
    [Setting("Evaluate every N steps; 0: only at the end (when there is evaluation data).", Trl = "eval_steps", Min = 0)]
    public int EvalSteps { get; init; }

    /// <summary>Checkpoint every N steps (0: only at the end).</summary>
    [Setting("Write checkpoint-N/ every N steps; 0: only at the end.", Trl = "save_steps", Min = 0)]
    public int SaveSteps { get; init; }

    /// <summary>Keep at most this many step checkpoints (0 keeps all).</summary>
    [Setting("Keep at most this many step checkpoints; 0 keeps all.", Trl = "save_total_limit", Min = 0)]
    public int SaveTotalLimit { get; init; } = 2;

    /// <summary>Intra-op threads for libtorch (0 keeps libtorch's default).</summary>
    [Setting("Intra-op threads for libtorch; 0 keeps libtorch's default (under MPI: cores / ranks).", Min = 0)]
    public int Threads { get; init; }

    /// <summary>Batch order: length-bucketed (less padding) or random; both shuffled deterministically under the seed.</summary>
    [Setting("bucketed (similar lengths together, less padding) or random; both shuffled under the seed.",
        Trl = "group_by_length")]
    public BatchOrder BatchOrder { get; init; } = BatchOrder.Bucketed;

    /// <summary>
    /// Forward each batch padding-free: the rows of all pairs placed back to back in one packed row, each pair's prompt
    /// once with its chosen and rejected completions branching off it, every token with its own position id and
    /// attention only to its own row (per-segment scaled-dot-product attention, <c>CausalLM.ForwardSegments</c>;
    /// <c>Training.RowPacking.PackSharingPrompts</c>). No pad token is computed, attention costs each row's own length
    /// squared, and a pair's prompt is computed once. Log-probs equal the padded path's to rounding. Speed:
    /// docs/benchmarks.md.
    /// </summary>
    [Setting("Pack each batch's rows in one row, each pair's prompt once (own positions, per-row causal attention): " +
        "no pad token computed; same log-probs to rounding. Speed vs length bucketing: docs/benchmarks.md (Real data).",
        Trl = "padding_free")]
    public bool PaddingFree { get; init; }

    /// <summary>
    /// Drop the last, smaller batch of each epoch (false, the default, keeps it: every pair is trained on each epoch).
    /// </summary>
    [Setting("Drop each epoch's last partial batch; false (default) trains on every pair every epoch.",
        Trl = "dataloader_drop_last")]
    public bool DropLast { get; init; }

    /// <summary>Data-parallel runs: gradients are summed over ranks in flattened buckets of at most this many MB.</summary>
    [Setting("Under MPI: gradients are summed over ranks in flattened buckets of at most this many MB.",
        Trl = "ddp_bucket_cap_mb", Min = 0, MinExclusive = true)]
    public double AllreduceBucketMb { get; init; } = 25;

    /// <summary>A NaN or infinite loss or gradient: stop (default) or skip_batch (skip the update, count it).</summary>
    [Setting("A NaN or infinite loss or gradient: stop (default), or skip_batch (skip the update and count it).")]
    public NonFinitePolicy OnNonfinite { get; init; } = NonFinitePolicy.Stop;

    /// <summary>
    /// Recompute each decoder block during backward instead of keeping its activations (less memory, one more forward).
    /// </summary>
    [Setting("Recompute each decoder block in backward instead of keeping its activations (less memory, one more " +
        "forward).", Trl = "gradient_checkpointing")]
    public bool GradientCheckpointing { get; init; }

    /// <summary>
    /// The dtype of the decoder's matmuls: float32 (default) or bfloat16 (mixed precision over float32 weights,
    /// gradients and optimizer state; checkpoints stay float32). Faster where the CPU has bfloat16 instructions
    /// (avx512_bf16, amx_bf16); elsewhere still correct, with a warning that it is slower than float32. Read once by the
    /// composition root (<c>AlignSharp.Runs</c>), which sets it on the policy and the reference
    /// (<c>CausalLM.UseMatmulDType</c>).
    /// </summary>
    [Setting("Matmul dtype: float32, or bfloat16 (attention/MLP matmuls in bfloat16 over float32 weights, gradients " +
        "and AdamW state; norms, LM head, loss and log-prob sums in float32; checkpoints stay float32). For CPUs with " +
        "bf16 instructions (docs/benchmarks.md, \"bfloat16\").", Trl = "bf16")]
    public ComputePrecision Precision { get; init; } = ComputePrecision.Float32;

    /// <summary>
    /// Where the run's models live: cpu (default), cuda or cuda:N. Read once by the composition root
    /// (<c>AlignSharp.Runs</c>), which places the models; the trainer follows the policy's device.
    /// </summary>
    [Setting("Where the models live: cpu, cuda or cuda:N (needs a CUDA libtorch runtime; README \"Run on a GPU\").",
        Trl = "use_cpu")]
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Where metrics go besides <c>metrics.jsonl</c> (TRL's <c>report_to</c>): <c>tensorboard</c> writes TensorBoard
    /// event files under <c>&lt;output_dir&gt;/runs</c>; empty or <c>none</c> writes nothing else.
    /// </summary>
    [Setting("Where metrics go besides metrics.jsonl: tensorboard (event files under output_dir/runs), or none.",
        Trl = "report_to")]
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
