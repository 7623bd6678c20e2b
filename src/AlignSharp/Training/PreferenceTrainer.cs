using AlignSharp.Data;
using AlignSharp.Distributed;
using AlignSharp.Data.Batching;
using AlignSharp.Models;
using AlignSharp.Objectives;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>Receives progress: log lines (train and eval metrics) and plain messages.</summary>
public interface ITrainingObserver
{
    /// <summary>Called once per logging step and per evaluation with TRL-named metrics.</summary>
    void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics);

    /// <summary>A one-line message (cache hits, checkpoints written, ...).</summary>
    void OnMessage(string message);
}

/// <summary>Everything a preference-training run works on; owned by the caller except where noted.</summary>
/// <param name="Policy">The model being trained.</param>
/// <param name="Reference">Reference strategy (owned by the trainer's caller; disposed by it).</param>
/// <param name="Objective">The objective (stateful ones are checkpointed).</param>
/// <param name="Train">Training examples: pairs, or unpaired examples for KTO-style objectives.</param>
/// <param name="Eval">Evaluation examples of the same kind (may be empty).</param>
/// <param name="PadId">Id used for padding.</param>
public sealed record TrainingSetup(CausalLM Policy, IReferenceStrategy Reference, IPreferenceObjective Objective,
    IExampleSet Train, IExampleSet Eval, int PadId)
{
    /// <summary>A setup that trains on preference pairs.</summary>
    public TrainingSetup(CausalLM policy, IReferenceStrategy reference, IPreferenceObjective objective,
        IReadOnlyList<TokenizedPair> train, IReadOnlyList<TokenizedPair> eval, int padId)
        : this(policy, reference, objective, new PairExamples(train), new PairExamples(eval), padId) { }

    /// <summary>
    /// What the optimizer updates and checkpoints store; null trains every parameter of <see cref="Policy"/> that
    /// requires grad (full fine-tuning). An adapter run passes its adapter here and a frozen base as the policy.
    /// </summary>
    public ITrainableWeights? Trainable { get; init; }

    /// <summary>A setup that trains on unpaired examples (KTO builds each batch's mismatched KL rows within the batch).</summary>
    public static TrainingSetup ForUnpaired(CausalLM policy, IReferenceStrategy reference, IPreferenceObjective objective,
        IReadOnlyList<TokenizedUnpaired> train, IReadOnlyList<TokenizedUnpaired> eval, int padId) =>
        new(policy, reference, objective, new UnpairedExamples(train), new UnpairedExamples(eval), padId);

    /// <summary>Extra input providers (e.g. a reward head) beside the trainer's built-in ones.</summary>
    public IReadOnlyList<IInputProvider> InputProviders { get; init; } = [];

    /// <summary>
    /// The ranks of the job (one process unless started by mpirun): <c>training.batch_size</c> is the
    /// global batch, split across ranks; only rank 0 logs, writes metrics and checkpoints.
    /// </summary>
    public ICollectives Collectives { get; init; } = SingleProcess.Instance;
}

/// <summary>
/// The preference-training loop: micro-batches accumulated into AdamW steps with warm-up + decay, gradient
/// clipping, periodic logging, evaluation and atomic checkpoints, exactly resumable.
/// </summary>
public sealed class PreferenceTrainer(TrainingSetup setup, TrainingOptions options, string outputDir, ITrainingObserver observer)
{
    /// <summary>The ranks; only rank 0 reports and writes.</summary>
    private readonly ICollectives comm = setup.Collectives;

    /// <summary>The policy's device: the run placed the model (<c>training.device</c>); batches follow it.</summary>
    private readonly Device device = setup.Policy.parameters().First().device;

    /// <summary>Writes the run's own files (tokenizer, resolved config) into each checkpoint folder before it is renamed in.</summary>
    public Action<string>? OutputFiles { get; init; }

    /// <summary>Total optimizer steps of this run.</summary>
    public int MaxSteps => StepsFor(options, setup.Train.Count);

    /// <summary>
    /// Optimizer steps of a run over <paramref name="examples"/> training examples: <c>max_steps</c> when positive, else
    /// ceil(epochs x batches per epoch / accumulation), at least 1.
    /// </summary>
    public static int StepsFor(TrainingOptions options, int examples) => options.MaxSteps > 0 ? options.MaxSteps
        : Math.Max(1, (int)Math.Ceiling(options.Epochs * BatchesPerEpoch(options, examples)
            / options.GradientAccumulationSteps));

    /// <summary>
    /// Batches in one epoch of <paramref name="examples"/>: ceil(examples / batch_size), or floor with
    /// <c>drop_last</c> (the last partial batch dropped).
    /// </summary>
    public static int BatchesPerEpoch(TrainingOptions options, int examples) => options.DropLast
        ? examples / options.BatchSize
        : (examples + options.BatchSize - 1) / options.BatchSize;

    /// <summary>Runs (or resumes from <paramref name="resumeFrom"/>, a checkpoint folder) to the last step; returns the final metrics log.</summary>
    public IReadOnlyList<Dictionary<string, double>> Run(string? resumeFrom = null)
    {
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        var policy = setup.Policy;
        policy.train();
        if (options.GradientCheckpointing) policy.GradientCheckpointing = true;
        var trainable = setup.Trainable ?? new FullModelWeights(policy);
        using var optimizer = OptimizerFor(trainable.Parameters, options);
        using var generator = new Generator((ulong)options.Seed);
        var schedule = LearningRateSchedule.From(options, MaxSteps);
        var state = new TrainerState(0, new BatchPosition(0, 0), "", null);
        if (resumeFrom is not null)
        {
            state = TrainingCheckpoint.Load(resumeFrom, trainable, optimizer);
            RestoreGenerator(generator, state.GeneratorState);
            if (setup.Objective is IStatefulObjective so && state.ObjectiveState is { } os) so.LoadState(os);
            observer.OnMessage($"resumed from {resumeFrom} at step {state.Step}");
            MetricsLog.CutAfter(Path.Combine(outputDir, "metrics.jsonl"), state.Step); // steps after it are redone
        }
        var step = new PreferenceStep(policy, setup.Reference, setup.Objective, device, setup.InputProviders);
        foreach (var examples in new[] { setup.Train, setup.Eval })
        {
            if (examples.Count > 0) step.Accept(examples.Kind);
            step.Inputs.CheckData(examples);
        }
        var lengths = Enumerable.Range(0, setup.Train.Count).Select(setup.Train.Length).ToList();
        var stream = new BatchStream(Planner(lengths, options), state.Data);
        if (comm.Rank == 0)
            observer.OnMessage(BatchPlanSummary.Of(options, setup.Train.Count, setup.Eval.Count,
                setup.Train.Kind == BatchKind.Pairs ? "pairs" : "examples").Describe(options));
        var log = new List<Dictionary<string, double>>();
        var means = new MetricMeans();
        var parameters = trainable.Parameters.Select(p => p.Parameter).ToList();
        if (comm.Size > 1)
        {
            if (options.BatchSize < comm.Size)
                throw new AlignSharpException(
                    $"training.batch_size ({options.BatchSize}) is the global batch; it must be at least the {comm.Size} ranks");
            GradientSync.Broadcast(policy.parameters(), comm); // every rank starts from rank 0's weights
            policy.DataParallel = comm;
            setup.Reference.Distribute(comm); // reference forwards split like the policy's, not repeated per rank
            if (comm.Rank == 0) observer.OnMessage($"data parallel: {comm.Description}; global batch {options.BatchSize}");
        }
        long bucketBytes = Math.Max(1, (long)(options.AllreduceBucketMb * 1e6));
        var guard = new NonFiniteGuard(options.OnNonfinite, observer);
        string Save(int done)
        {
            string saved = Path.Combine(outputDir, $"checkpoint-{done}");
            if (comm.Rank == 0)
            {
                var objectiveState = (setup.Objective as IStatefulObjective)?.SaveState();
                saved = TrainingCheckpoint.Save(outputDir, trainable, optimizer, new TrainerState(done, stream.Position,
                    Convert.ToBase64String(GeneratorBytes(generator)), objectiveState), options.SaveTotalLimit,
                    OutputFiles);
                observer.OnMessage($"saved {saved}");
            }
            comm.Barrier(); // written once, by rank 0, before any rank moves on (or ends)
            return saved;
        }

        using var events = comm.Rank == 0 && options.ReportsToTensorBoard
            ? new TensorBoardEvents(Path.Combine(outputDir, TensorBoardDir)) : null;
        tensorBoard = events;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int firstStep = state.Step;
        double lossSum = 0;
        int lossCount = 0;
        try
        {

        for (int s = state.Step; s < MaxSteps; s++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var context = new ObjectiveContext(true, s, MaxSteps, generator);
            var objectiveBefore = guard.Reports ? (setup.Objective as IStatefulObjective)?.SaveState() : null;
            var batches = new List<int[]>();
            var micro = new List<IReadOnlyDictionary<string, double>>();
            for (int m = 0; m < options.GradientAccumulationSteps; m++)
            {
                batches.Add(stream.Next());
                var result = RunBatch(step, training: true, batches[^1], context);
                if (CrashPoints.Enabled) CrashPoints.Reach($"step-{s + 1}/forward");
                (result.Loss / options.GradientAccumulationSteps).backward();
                micro.Add(result.Metrics);
            }
            GradientSync.AllReduce(parameters, comm, bucketBytes); // each rank's part of the global-batch gradient
            // Without clipping, the largest float as max norm: the coefficient clamps to 1 and only the norm is read.
            double gradNorm = nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm > 0 ? options.MaxGradNorm : float.MaxValue);
            double lr = schedule.At(s);
            int done = s + 1;
            if (guard.Accept(done, micro.Select(r => r["loss"]).ToList(), gradNorm,
                batches.SelectMany(b => b).Select(setup.Train.Source)))
            {
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                optimizer.step();
                foreach (var r in micro) means.Add(r);
                lossSum += micro.Average(r => r["loss"]);
                lossCount++;
                means.Add(new Dictionary<string, double> { ["grad_norm"] = gradNorm, ["learning_rate"] = lr });
                if (CrashPoints.Enabled) CrashPoints.Reach($"step-{done}/update");
            }
            else if (objectiveBefore is not null) ((IStatefulObjective)setup.Objective).LoadState(objectiveBefore);

            if (done % Math.Max(1, options.LoggingSteps) == 0 || done == MaxSteps)
            {
                var metrics = means.Take();
                if (guard.Reports) metrics[NonFiniteGuard.SkippedMetric] = guard.Skipped;
                Emit(log, done, stream.EpochProgress, metrics);
                if (CrashPoints.Enabled) CrashPoints.Reach($"step-{done}/logged");
            }
            if (setup.Eval.Count > 0 && ((options.EvalSteps > 0 && done % options.EvalSteps == 0) || done == MaxSteps))
                Emit(log, done, stream.EpochProgress, Evaluate(step, policy));
            string? savedNow = (options.SaveSteps > 0 && done % options.SaveSteps == 0) || done == MaxSteps ? Save(done) : null;
            // SIGINT/SIGTERM: stop at this step boundary with a checkpoint (the last step finishes normally); under
            // mpirun the ranks agree first, so all stop at the same step.
            if (comm.AnyRank(GracefulStop.Requested) && done < MaxSteps) throw new TrainingStoppedException(done, savedNow ?? Save(done));
        }
        }
        finally
        {
            policy.DataParallel = null;
            tensorBoard = null;
        }
        int ran = MaxSteps - firstStep;
        if (ran > 0 && comm.Rank == 0)
        {
            Results = TrainResults.From(clock.Elapsed, ran, options.BatchSize * options.GradientAccumulationSteps,
                lossSum, lossCount, stream.EpochProgress);
            Results.Write(outputDir);
            observer.OnMessage(Results.Summary());
        }
        return log;
    }

    /// <summary>The folder of TensorBoard event files under the output folder (Hugging Face's logging_dir is runs/...).</summary>
    public const string TensorBoardDir = "runs";

    /// <summary>The event file of the running <see cref="Run"/> when <c>report_to</c> names TensorBoard (rank 0).</summary>
    private TensorBoardEvents? tensorBoard;

    /// <summary>
    /// The end-of-run summary of the last <see cref="Run"/> (also written to <c>train_results.json</c>); null before a
    /// run, when the run had no step left to do, and on ranks other than 0.
    /// </summary>
    public TrainResults? Results { get; private set; }

    /// <summary>Mean metrics over the evaluation pairs under the current policy, prefixed "eval_"; no state changes.</summary>
    public Dictionary<string, double> Evaluate(PreferenceStep step, CausalLM policy)
    {
        using var _ = no_grad();
        policy.eval();
        var means = new MetricMeans();
        foreach (var idx in Enumerable.Range(0, setup.Eval.Count).Chunk(options.BatchSize))
        {
            using var scope = NewDisposeScope();
            means.Add(RunBatch(step, training: false, idx, ObjectiveContext.Eval).Metrics);
        }
        policy.train();
        return means.Take("eval_");
    }

    private void Emit(List<Dictionary<string, double>> log, int step, double epoch, Dictionary<string, double> metrics)
    {
        metrics["step"] = step;
        metrics["epoch"] = Math.Round(epoch, 4);
        log.Add(metrics);
        if (comm.Rank != 0) return; // every rank has the same global-batch metrics; rank 0 reports them
        MetricsLog.Append(Path.Combine(outputDir, "metrics.jsonl"), metrics);
        tensorBoard?.Write(step, metrics);
        observer.OnLog(step, MaxSteps, metrics);
    }

    /// <summary>Collates the examples <paramref name="idx"/> of the training or evaluation set and runs the step on them.</summary>
    private StepResult RunBatch(PreferenceStep step, bool training, int[] idx, ObjectiveContext context)
    {
        using var batch = (training ? setup.Train : setup.Eval).Collate(idx, setup.PadId) with
        {
            Packed = options.PaddingFree,
        };
        return step.Run(batch, context);
    }

    /// <summary>
    /// The run's batch plan: each epoch's last batch holds the remainder (batch_size does not divide the examples)
    /// unless <c>drop_last</c>, as TRL's data loader does. Shared by every rank: a partial global batch is split like a
    /// full one (<see cref="DataParallel"/>).
    /// </summary>
    private static BatchPlanner Planner(IReadOnlyList<int> lengths, TrainingOptions o) =>
        new(lengths, o.BatchSize, unchecked((int)o.Seed), o.BatchOrder, dropLast: o.DropLast);

    /// <summary>AdamW over the trainable parameters, with no weight decay on 1-D tensors (biases, norms), as HF's Trainer does.</summary>
    public static AdamW CreateOptimizer(CausalLM policy, TrainingOptions options) =>
        OptimizerFor(new FullModelWeights(policy).Parameters, options);

    /// <summary>
    /// AdamW over <paramref name="named"/> (no weight decay on 1-D tensors); nothing else gets optimizer state. The
    /// step is fused over flat buffers (<see cref="Fused.AdamW"/>): TorchSharp's per-parameter arithmetic and state.
    /// </summary>
    public static AdamW OptimizerFor(IReadOnlyList<(string Name, Parameter Parameter)> named, TrainingOptions options) =>
        new Fused.AdamW(ParamGroups(named, options));

    /// <summary>The two AdamW parameter groups: matrices with <c>weight_decay</c>, 1-D tensors (biases, norms) without.</summary>
    public static AdamW.ParamGroup[] ParamGroups(IReadOnlyList<(string Name, Parameter Parameter)> named, TrainingOptions options)
    {
        var decay = named.Where(p => p.Parameter.dim() >= 2).Select(p => p.Parameter).ToList();
        var noDecay = named.Where(p => p.Parameter.dim() < 2).Select(p => p.Parameter).ToList();
        var o = options;
        return
        [
            new AdamW.ParamGroup(decay, o.LearningRate, o.AdamBeta1, o.AdamBeta2, o.AdamEpsilon, o.WeightDecay, false, false),
            new AdamW.ParamGroup(noDecay, o.LearningRate, o.AdamBeta1, o.AdamBeta2, o.AdamEpsilon, 0, false, false),
        ];
    }

    private static byte[] GeneratorBytes(Generator g)
    {
        using var s = g.get_state();
        return s.data<byte>().ToArray();
    }

    private static void RestoreGenerator(Generator g, string base64)
    {
        if (base64.Length == 0) return;
        var bytes = Convert.FromBase64String(base64);
        using var t = tensor(bytes, ScalarType.Byte);
        g.set_state(t);
    }
}
