using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Runs;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Online;

/// <summary>What one completed iteration did (also written to its <c>report.json</c>).</summary>
public sealed record IterationReport
{
    public int Iteration { get; init; }
    public int Prompts { get; init; }
    public int Candidates { get; init; }
    public long GeneratedTokens { get; init; }
    public double TokensPerSecond { get; init; }
    public double MeanScore { get; init; }
    /// <summary>Mean ground-truth reward (or verifier score) of the policy's samples.</summary>
    public double PolicyTaskReward { get; init; }
    public int Pairs { get; init; }
    public int ReplayedPairs { get; init; }
    public int InvalidGroups { get; init; }
    public int OptimizerSteps { get; init; }
    public int GlobalStep { get; init; }
    public IReadOnlyDictionary<string, double> Train { get; init; } = new Dictionary<string, double>();
    /// <summary>Groups that yielded no pairs because the judge gave no verdict: prompt, reason, raw replies.</summary>
    public IReadOnlyList<InvalidGroup> Invalid { get; init; } = [];
}

/// <summary>A group left out because its judge gave no verdict, with every raw reply.</summary>
public sealed record InvalidGroup(string Prompt, string Problem, IReadOnlyList<string> Replies);

/// <summary>
/// The online / iterative preference-optimization loop: for each iteration, sample n completions per prompt, score
/// them, pair them, train the objective on the pairs (with optional replay), and update the reference. Per-step
/// online DPO (OAIF) is the setting where each iteration is one optimizer step. Every iteration is written as
/// <c>iteration-NNNN/</c> (pairs.jsonl, report.json, policy weights, optimizer state, reference weights when the
/// reference moves, state.json) with <see cref="AtomicFile.WriteDirectory"/>, so a run killed at any point resumes
/// from its last complete iteration; every random draw is seeded by (seed, iteration), so the resumed run produces
/// the same pairs and weights as one never stopped.
/// </summary>
public sealed class OnlineLoop(OnlineConfig config, ITrainingObserver observer)
{
    private const string StateFile = "state.json";
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
    private static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    /// <summary>
    /// Called after each stage of an iteration ("sampled", "scored", "trained"); tests stop runs here.
    /// </summary>
    internal Action<int, string>? StageHook { get; init; }

    /// <summary>
    /// The end of a stage of iteration <paramref name="it"/>: the tests' hook, and the crash point
    /// <c>iteration-N/STAGE</c> where the reliability tests kill the process (<see cref="CrashPoints"/>).
    /// </summary>
    private void Stage(int it, string stage)
    {
        StageHook?.Invoke(it, stage);
        if (CrashPoints.Enabled) CrashPoints.Reach($"iteration-{it}/{stage}");
    }

    /// <summary>Overrides the endpoint judge's client (tests); null builds it from <c>online.score.judge</c>.</summary>
    public Microsoft.Extensions.AI.IChatClient? JudgeClient { get; init; }

    private OnlineSection O => config.Online;
    private string OutputDir => config.Run.OutputDir;

    /// <summary>
    /// Runs the remaining iterations (resuming after the last complete one) and returns every report.
    /// </summary>
    public async Task<IReadOnlyList<IterationReport>> RunAsync(CancellationToken cancellationToken = default)
    {
        var training = config.Run.Training;
        if (training.Threads > 0) torch.set_num_threads(training.Threads);
        var task = new OnlineTaskSource(O.Task, O.Score.Verifier);
        // One loop per folder: a second live loop here is refused (lock file naming its pid; a dead holder's is stale).
        using var folder = RunFolder.Lock(OutputDir, observer.OnMessage);
        foreach (var stale in Directory.GetDirectories(OutputDir, ".iteration-*" + AtomicFile.TempMarker + "*"))
            Directory.Delete(stale, true); // a killed iteration's half-written folder

        // The composition root builds the run (tokenizer, pad id, device, dtype, objective, the starting policy and
        // the reference: a frozen copy of reference_path or of the start, which this loop may move).
        var start = OnlineBaseModel.Ensure(config, task, observer);
        using var run = RunBuilder.BuildWithoutData(start, observer);
        var (tokenizer, policy, target, pad) = (run.Tokenizer, run.Policy, run.Target, run.Setup.PadId);
        var (reference, referenceModel, objective) = (run.Setup.Reference, run.ReferenceModel!, run.Setup.Objective);
        using var optimizer = PreferenceTrainer.CreateOptimizer(policy, training);

        var reports = new List<IterationReport>();
        int done = 0, globalStep = 0;
        if (LastComplete() is { } last)
        {
            var state = Resume(last, policy, referenceModel, optimizer, objective);
            done = state.Iteration;
            globalStep = state.GlobalStep;
            for (int i = 1; i <= done; i++) reports.Add(ReadReport(i));
            observer.OnMessage($"resuming after iteration {done} of {O.Iterations} ({last})");
        }

        var sampler = new Sampler(O.Sample, tokenizer, pad);
        var scorer = CreateScorer(task, tokenizer, () => policy);
        for (int it = done + 1; it <= O.Iterations; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long seed = training.Seed * 1_000_003L + it * 7_919L;
            var prompts = task.Prompts(O.PromptsPerIteration, unchecked((int)seed));
            var samples = sampler.Sample(prompts, policy, referenceModel, seed);
            Stage(it, "sampled");
            var groups = await scorer.ScoreAsync(samples.Groups, new ScoreContext(policy, referenceModel),
                cancellationToken).ConfigureAwait(false);
            Stage(it, "scored");
            var pairs = PairSelection.Select(groups, O.Pair, new Random(unchecked((int)(seed + 2))))
                .Select(p => PairRecord.From(p, it)).ToList();
            var replay = Replay(it, pairs.Count, new Random(unchecked((int)(seed + 3))));
            var (steps, metrics) = Train(policy, referenceModel, reference, optimizer, objective, pairs, replay, pad,
                target.Device, seed, ref globalStep);
            if (O.Reference.Update == ReferenceUpdate.Previous) ReferenceSync.Blend(referenceModel, policy, 1.0);
            Stage(it, "trained");

            var policyRewards = samples.Groups.SelectMany(g => g.Candidates.Where(c => c.Source == "policy")
                .Select(c => task.Reward.Score(g.Prompt, c.Text))).ToList();
            var report = new IterationReport
            {
                Iteration = it, Prompts = prompts.Count, Candidates = samples.Groups.Sum(g => g.Candidates.Count),
                GeneratedTokens = samples.GeneratedTokens, TokensPerSecond = Math.Round(samples.TokensPerSecond, 1),
                MeanScore = Mean(groups.Where(g => g.IsValid).SelectMany(g => g.Scores)),
                PolicyTaskReward = Mean(policyRewards),
                Pairs = pairs.Count, ReplayedPairs = replay.Count, InvalidGroups = groups.Count(g => !g.IsValid),
                OptimizerSteps = steps, GlobalStep = globalStep, Train = metrics,
                Invalid = [.. groups.Where(g => !g.IsValid).Select(g => new InvalidGroup(g.Group.Prompt, g.Problem!,
                    [.. g.Comparisons.Values.SelectMany(c => c.RawReplies)]))],
            };
            WriteIteration(it, report, pairs, policy, referenceModel, optimizer, objective, globalStep);
            reports.Add(report);
            observer.OnMessage(FormattableString.Invariant(
                $"iteration {it}/{O.Iterations}: {samples.GeneratedTokens} tokens at ") +
                FormattableString.Invariant($"{samples.TokensPerSecond:0} tok/s, {pairs.Count} pairs ") +
                FormattableString.Invariant($"(+{replay.Count} replayed), {report.InvalidGroups} invalid groups, ") +
                FormattableString.Invariant($"{steps} steps, task reward {report.PolicyTaskReward:0.000}"));
            observer.OnLog(it, O.Iterations, Flatten(report));
        }
        run.SaveFinal();
        return reports;
    }

    private IScoreStep CreateScorer(OnlineTaskSource task, ITokenizer tokenizer, Func<CausalLM> policy)
    {
        var s = O.Score;
        return s.Kind switch
        {
            ScoreKind.Reward => new RewardScore(task.Reward, $"reward:{O.Task.ToString().ToLowerInvariant()}"),
            ScoreKind.Implicit => new ImplicitRewardScore(s.ImplicitBeta, s.LengthPenalty),
            ScoreKind.SelfJudge => new JudgeScore(new PolicyJudge(policy, tokenizer), "self_judge"),
            _ when s.Judge.Kind == JudgeKind.Reward => new JudgeScore(new RewardJudge(task.Reward), "judge:reward"),
            _ => new JudgeScore(EndpointJudge(task), $"judge:{s.Judge.Url}"),
        };
    }

    private ChatEndpointJudge EndpointJudge(OnlineTaskSource task)
    {
        var j = O.Score.Judge;
        var timeout = TimeSpan.FromSeconds(j.TimeoutSeconds);
        var client = JudgeClient ?? ChatEndpointJudge.CreateClient(new Uri(j.Url!), j.Model!,
            Environment.GetEnvironmentVariable(j.ApiKeyEnv), timeout);
        return new ChatEndpointJudge(client, new ChatEndpointJudgeOptions
        {
            ModelId = j.Model, MaxAttempts = j.MaxAttempts, RequestTimeout = timeout,
            Criterion = j.Criterion == new JudgeSection().Criterion ? task.Criterion : j.Criterion,
        });
    }

    /// <summary>
    /// Earlier iterations' pairs, <c>replay</c> times as many as this iteration's, drawn without repeats.
    /// </summary>
    private List<PairRecord> Replay(int iteration, int fresh, Random rng)
    {
        int want = (int)Math.Round(O.Replay * fresh);
        if (want == 0 || iteration == 1) return [];
        var pool = Enumerable.Range(1, iteration - 1).SelectMany(i => PairRecordsFile.Read(PairsPath(i))).ToList();
        return [.. pool.OrderBy(_ => rng.Next()).Take(Math.Min(want, pool.Count))];
    }

    /// <summary>
    /// The train step: the objective on this iteration's pairs (and replayed ones) through <see
    /// cref="PreferenceStep"/>,
    /// one AdamW step per batch (per_iteration, for <c>epochs</c> passes) or one step over all pairs (per_step), with
    /// the reference synced every <c>reference.every</c> steps under soft/hard sync.
    /// </summary>
    private (int Steps, Dictionary<string, double> Metrics) Train(CausalLM policy, CausalLM referenceModel,
        IReferenceStrategy reference, AdamW optimizer, IPreferenceObjective objective, List<PairRecord> fresh,
        List<PairRecord> replay, int pad, Device device, long seed, ref int globalStep)
    {
        var training = config.Run.Training;
        var all = fresh.Concat(replay).Select((r, i) => r.ToTokenized(i + 1)).ToList();
        var sums = new Dictionary<string, double>();
        int steps = 0;
        if (all.Count == 0) return (0, sums);
        var step = new PreferenceStep(policy, reference, objective, device);
        var parameters = policy.parameters().Where(p => p.requires_grad).ToList();
        using var generator = new torch.Generator((ulong)(seed + 4));
        var rng = new Random(unchecked((int)(seed + 5)));
        int epochs = O.Mode == OnlineMode.PerStep ? 1 : O.Epochs;
        int batchesPerEpoch = Math.Max(1, (all.Count + training.BatchSize - 1) / training.BatchSize);
        long plannedTotal = (long)O.Iterations * epochs * batchesPerEpoch;
        policy.train();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            // Curriculum order is the pair step's; otherwise a seeded shuffle.
            var order = O.Pair.Strategy == PairStrategy.Curriculum
                ? Enumerable.Range(0, all.Count).ToList()
                : Enumerable.Range(0, all.Count).OrderBy(_ => rng.Next()).ToList();
            var batches = order.Chunk(training.BatchSize).ToList();
            List<int[][]> updates = O.Mode == OnlineMode.PerStep
                ? [[.. batches]]
                : [.. batches.Select(b => new[] { b })];
            foreach (var update in updates)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                int rows = update.Sum(b => b.Length);
                var context = new ObjectiveContext(true, globalStep, Math.Max(plannedTotal, globalStep + 1), generator);
                foreach (var micro in update)
                {
                    using var batch = PreferenceCollator.Collate([.. micro.Select(i => all[i])], pad);
                    var result = step.Run(batch, context);
                    (result.Loss * ((double)micro.Length / rows)).backward(); // mean over the update's pairs
                    foreach (var (k, v) in result.Metrics)
                        sums[k] = sums.GetValueOrDefault(k) + v * micro.Length / rows;
                }
                double norm = nn.utils.clip_grad_norm_(parameters,
                    training.MaxGradNorm > 0 ? training.MaxGradNorm : double.MaxValue);
                sums["grad_norm"] = sums.GetValueOrDefault("grad_norm") + norm;
                foreach (var g in optimizer.ParamGroups) g.LearningRate = training.LearningRate;
                optimizer.step();
                steps++;
                globalStep++;
                if (O.Reference.Update is ReferenceUpdate.SoftSync or ReferenceUpdate.HardSync
                    && globalStep % O.Reference.Every == 0)
                    ReferenceSync.Blend(referenceModel, policy,
                        O.Reference.Update == ReferenceUpdate.HardSync ? 1.0 : O.Reference.Alpha);
            }
        }
        policy.eval();
        return (steps, sums.ToDictionary(kv => kv.Key, kv => kv.Value / steps));
    }

    private string IterationDir(int i) => Path.Combine(OutputDir, $"iteration-{i:0000}");

    private string PairsPath(int i) => Path.Combine(IterationDir(i), "pairs.jsonl");

    /// <summary>The newest iteration folder with a state file, or null.</summary>
    private string? LastComplete() =>
        Directory.GetDirectories(OutputDir, "iteration-*")
            .Where(d => File.Exists(Path.Combine(d, StateFile)))
            .OrderBy(d => d, StringComparer.Ordinal).LastOrDefault();

    private sealed record LoopState(int Iteration, int GlobalStep, System.Text.Json.Nodes.JsonObject? ObjectiveState);

    private void WriteIteration(int it, IterationReport report, List<PairRecord> pairs, CausalLM policy,
        CausalLM referenceModel, AdamW optimizer, IPreferenceObjective objective, int globalStep)
    {
        AtomicFile.WriteDirectory(IterationDir(it), dir =>
        {
            File.WriteAllText(Path.Combine(dir, "pairs.jsonl"), PairRecordsFile.ToJsonl(pairs));
            File.WriteAllText(Path.Combine(dir, "report.json"), JsonSerializer.Serialize(report, Json));
            ModelWeights.Save(policy, Path.Combine(dir, "policy"));
            Stage(it, "policy-written"); // inside the temporary folder: a kill here must leave no iteration behind
            optimizer.save_state_dict(Path.Combine(dir, "optimizer.bin"));
            if (O.Reference.Update != ReferenceUpdate.Fixed)
                ModelWeights.Save(referenceModel, Path.Combine(dir, "reference"));
            var state = new LoopState(it, globalStep, (objective as IStatefulObjective)?.SaveState());
            File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, Json));
        });
        Stage(it, "saved"); // the iteration folder is complete; metrics.jsonl not yet rewritten
        var lines = Enumerable.Range(1, it)
            .Select(i => JsonSerializer.Serialize(Flatten(i == it ? report : ReadReport(i)), JsonLine));
        AtomicFile.WriteAllText(Path.Combine(OutputDir, "metrics.jsonl"), string.Join('\n', lines) + "\n");
    }

    private LoopState Resume(string dir, CausalLM policy, CausalLM referenceModel, AdamW optimizer,
        IPreferenceObjective objective)
    {
        LoopState state;
        try
        {
            state = JsonSerializer.Deserialize<LoopState>(File.ReadAllText(Path.Combine(dir, StateFile)), Json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new OnlineException($"{Path.Combine(dir, StateFile)}: unreadable loop state ({e.Message})");
        }
        ModelWeights.Load(policy, Path.Combine(dir, "policy"));
        try { optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin")); }
        catch (ArgumentException e)
        {
            throw new OnlineException($"{dir}: optimizer state does not fit this model ({e.Message})");
        }
        if (Directory.Exists(Path.Combine(dir, "reference")))
            ModelWeights.Load(referenceModel, Path.Combine(dir, "reference"));
        if (objective is IStatefulObjective so && state.ObjectiveState is { } os) so.LoadState(os);
        return state;
    }

    private IterationReport ReadReport(int i)
    {
        string path = Path.Combine(IterationDir(i), "report.json");
        try
        {
            return JsonSerializer.Deserialize<IterationReport>(File.ReadAllText(path), Json)
                ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new OnlineException($"{path}: unreadable iteration report ({e.Message})");
        }
    }

    /// <summary>An iteration's numbers under flat metric names (online/..., and the trainer's TRL names).</summary>
    public static Dictionary<string, double> Flatten(IterationReport r)
    {
        var m = new Dictionary<string, double>
        {
            ["iteration"] = r.Iteration,
            ["step"] = r.GlobalStep,
            ["online/pairs"] = r.Pairs,
            ["online/replayed_pairs"] = r.ReplayedPairs,
            ["online/invalid_groups"] = r.InvalidGroups,
            ["online/generated_tokens"] = r.GeneratedTokens,
            ["online/tokens_per_second"] = r.TokensPerSecond,
            ["online/mean_score"] = r.MeanScore,
            ["online/policy_task_reward"] = r.PolicyTaskReward,
        };
        foreach (var (k, v) in r.Train) m[k] = v;
        return m;
    }

    private static double Mean(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }
}
