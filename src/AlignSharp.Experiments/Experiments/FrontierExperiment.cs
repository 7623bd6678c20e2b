using System.Diagnostics;
using System.Globalization;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>Everything the frontier experiment measured, and where its files are.</summary>
/// <param name="Points">Every evaluated policy, in the order measured.</param>
/// <param name="Files">Written files (png, md, csv, jsonl, pair data).</param>
/// <param name="Seconds">Total wall time.</param>
public sealed record FrontierResult(IReadOnlyList<FrontierPoint> Points, FrontierFiles Files, double Seconds);

/// <summary>
/// The DPO paper's controlled experiment on the review-sentiment task: a byte-level base model trained on the task
/// corpus; preference pairs sampled from it and labelled by a Bradley-Terry draw on the ground-truth reward; each
/// objective trained at several β with checkpoints evaluated along training (ground-truth reward and KL to the base
/// model from the same held-out samples); a best-of-N sampling baseline; the RLHF baselines (<see cref="FrontierRl"/>:
/// PPO against a reward model trained on the same pairs, PPO-GT, RLOO); and a picture, tables and raw numbers.
/// </summary>
public static class FrontierExperiment
{
    /// <summary>Runs the experiment into <paramref name="outputDir"/>; <paramref name="log"/> receives progress lines.</summary>
    public static FrontierResult Run(FrontierOptions o, string outputDir, Action<string> log)
    {
        o.Validate();
        var entries = o.Methods.Select(m => (Method: m, Objectives: m.Values.Select(b => CreateObjective(m, b)).ToList())).ToList();
        if (o.Threads > 0) torch.set_num_threads(o.Threads);
        // One experiment per folder: its lock refuses a second live experiment here; the runs inside are replaced.
        using var folder = RunFolder.Lock(outputDir, log);
        var clock = Stopwatch.StartNew();
        void Log(string line) => log(FormattableString.Invariant($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

        var tokenizer = RunTokenizer.Load(RunTokenizer.Byte);
        var generator = ReviewGenerator.Default;
        var reward = ReviewReward.Default;
        var points = new List<FrontierPoint>();

        // 1. Base model: next-token training on the task corpus (pretraining + SFT in one).
        Log($"preset {o.Preset}: corpus of {o.CorpusSize} reviews, base model d={o.Hidden}, {o.Layers} layer(s), {o.PretrainSteps} steps");
        var (baseHf, baseFingerprint) = EnsureBase(o, outputDir, tokenizer, Log);
        using var baseModel = LoadBase(o, outputDir, tokenizer);

        // 2. Held-out prompts, and the base model's own score there.
        var evalPrompts = generator.Prompts(o.EvalPrompts, o.Seed + 101);
        long evalSeed = o.Seed + 202;
        var baseEval = PolicyEvaluation.Run(baseModel, baseModel, tokenizer, evalPrompts, reward, o.SamplesPerPrompt, o.MaxNewTokens, evalSeed);
        points.Add(new FrontierPoint("base", double.NaN, 0, 0, baseEval.Reward.Mean, baseEval.Reward.StandardError, 0, 0, double.NaN, baseEval.MeanLength, double.NaN, clock.Elapsed.TotalSeconds));
        Log(FormattableString.Invariant($"base model: ground-truth reward {baseEval.Reward}, mean length {baseEval.MeanLength:0.0} tokens; sample: \"{evalPrompts[0]}{baseEval.Samples.Completions[0]}\""));

        // 3. Preference pairs from base-model samples, labelled by Bradley-Terry on the ground-truth reward.
        int maxLength = baseModel.Config.MaxPositions;
        var labeler = new BradleyTerryLabeler(reward, o.LabelScale);
        var dataDir = Path.Combine(outputDir, "data");
        var dataFingerprint = FormattableString.Invariant($"{baseFingerprint} train={o.TrainPairs} eval={o.EvalPairs} scale={o.LabelScale}");
        bool dataCached = Cached(dataDir, dataFingerprint);
        var trainPrompts = generator.Prompts(o.TrainPairs, o.Seed + 1);
        var train = dataCached ? PreferenceDataLoader.Load(Path.Combine(dataDir, "train.jsonl")).Pairs.ToList()
            : SamplePairs(baseModel, tokenizer, labeler, trainPrompts, o, o.Seed + 11, Path.Combine(dataDir, "train.jsonl"));
        var heldOut = dataCached ? PreferenceDataLoader.Load(Path.Combine(dataDir, "eval.jsonl")).Pairs.ToList()
            : SamplePairs(baseModel, tokenizer, labeler, generator.Prompts(o.EvalPairs, o.Seed + 2), o, o.Seed + 12, Path.Combine(dataDir, "eval.jsonl"));
        if (dataCached) Log($"pairs: reused {dataDir}");
        else AtomicFile.WriteAllLines(Path.Combine(dataDir, "fingerprint.txt"), [dataFingerprint]);
        double agree = train.Count(e => e.Extras["chosen_score"] > e.Extras["rejected_score"]) / (double)Math.Max(1, train.Count);
        Log(FormattableString.Invariant($"pairs: {train.Count} train, {heldOut.Count} held out; chosen has the higher ground-truth reward in {agree:P0} of train pairs"));
        // The held-out pairs through the one data path, tokenized as the runs tokenize their training pairs.
        var evalPairs = new RunData(new DataSection { MaxLength = maxLength }, tokenizer, new AlignSharp.Data.Chat.PlainChatFormatter(),
            o.Seed, _ => { }).Load("eval", Path.Combine(dataDir, "eval.jsonl")).Pairs;

        // 4. Best-of-N baseline from base-model samples.
        points.AddRange(BestOfN(baseModel, tokenizer, reward, evalPrompts, o, evalSeed + 1, clock));
        foreach (var p in points.Where(p => p.Method == "best_of_n"))
            Log(FormattableString.Invariant($"best-of-{p.N}: reward {p.Reward:0.000} ± {p.RewardSe:0.000} at KL {p.Kl:0.000}"));

        // 5. One training run per (objective, swept value), evaluated along training.
        int total = entries.Sum(e => e.Objectives.Count) + o.RlMethods.Sum(m => m.KlCoefs.Count), index = 0;
        foreach (var (method, objectives) in entries)
        {
            for (int i = 0; i < objectives.Count; i++)
            {
                index++;
                double beta = method.Values[i];
                var start = new FrontierPoint(method.Id, beta, 0, 0, baseEval.Reward.Mean, baseEval.Reward.StandardError, 0, 0, 0,
                    baseEval.MeanLength, double.NaN, clock.Elapsed.TotalSeconds, method.Knob);
                string label = $"[{index}/{total}] {start.Run}";
                points.Add(start);
                string runName = method.Knob.Length == 0 ? method.Id : FormattableString.Invariant($"{method.Id}-{method.Knob}{beta:0.###}");
                var run = TrainOne(o, RunConfigFor(o, method, beta, baseHf, Path.Combine(dataDir, "train.jsonl"), maxLength,
                    Path.Combine(outputDir, "runs", runName)),
                    method, beta, baseModel, reward, evalPrompts, evalSeed, evalPairs,
                    clock, p => Log($"{label} step {p.Step}/{o.Steps}: " + Describe(p)));
                points.AddRange(run);
            }
        }

        // 6. RLHF baselines: a reward model on the same pairs, then PPO / RLOO against it and PPO against the ground truth.
        FrontierRewardModel? rm = null;
        if (o.RlMethods.Count > 0)
        {
            rm = FrontierRl.EnsureRewardModel(o, outputDir, baseHf, Path.Combine(dataDir, "train.jsonl"), maxLength, dataFingerprint,
                heldOut, tokenizer, Log);
            Log(FormattableString.Invariant(
                $"reward model: held-out accuracy {rm.LabelAccuracy:0.000} against the pairs' labels, {rm.GroundTruthAccuracy:0.000} against the ground-truth order"));
            using var rewardModel = RewardModelFolder.Load(rm.Dir);
            var learned = new RewardModelScorer(rewardModel, tokenizer, TokenizationOptions.WithHalfPrompt(maxLength));
            foreach (var method in o.RlMethods)
            {
                foreach (var klCoef in method.KlCoefs)
                {
                    index++;
                    string label = FormattableString.Invariant($"[{index}/{total}] {method.Id} kl_coef={klCoef:0.###}");
                    using var policy = LoadBase(o, outputDir, tokenizer, frozen: false);
                    points.AddRange(FrontierRl.RunOne(o, method, klCoef, policy, baseModel, tokenizer,
                        method.UsesRewardModel ? learned : reward, reward, trainPrompts, evalPrompts, evalSeed, evalPairs, baseEval,
                        clock, p => Log($"{label} step {p.Step}/{o.RlSteps}: " + Describe(p))));
                }
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var files = FrontierReport.Write(outputDir, o, points, seconds, rm);
        Log($"wrote {files.Png}, {files.Markdown}, {files.Csv}, {files.Jsonl}");
        return new FrontierResult(points, files, seconds);
    }

    /// <summary>
    /// The base model of <paramref name="o"/> in <c>&lt;outputDir&gt;/base/hf</c>: trained there, or reused when a
    /// previous run in the same folder had the same settings (its fingerprint file matches). Returns the folder and
    /// the fingerprint.
    /// </summary>
    internal static (string Dir, string Fingerprint) EnsureBase(FrontierOptions o, string outputDir, ITokenizer tokenizer,
        Action<string> log)
    {
        var baseDir = Path.Combine(outputDir, "base");
        var baseFingerprint = FormattableString.Invariant($"seed={o.Seed} hidden={o.Hidden} layers={o.Layers} corpus={o.CorpusSize} steps={o.PretrainSteps} batch={o.PretrainBatch} lr={o.PretrainLearningRate} max_new={o.MaxNewTokens} lm=1");
        if (!Cached(baseDir, baseFingerprint)) TrainBase(o, tokenizer, ReviewGenerator.Default, baseDir, baseFingerprint, log);
        return (Path.Combine(baseDir, "hf"), baseFingerprint);
    }

    /// <summary>
    /// The base model of <see cref="EnsureBase"/>, loaded on the run's device: frozen and in eval mode, or with
    /// <paramref name="frozen"/> false a trainable copy (an RL run's policy start).
    /// </summary>
    internal static CausalLM LoadBase(FrontierOptions o, string outputDir, ITokenizer tokenizer, bool frozen = true)
    {
        var baseDir = Path.Combine(outputDir, "base");
        var model = RunBuilder.Load(Path.Combine(baseDir, "hf"), ComputeTarget.From(BaseConfig(o, tokenizer, baseDir))).Model;
        if (!frozen) return model;
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
        return model;
    }

    private static bool Cached(string dir, string fingerprint)
    {
        var path = Path.Combine(dir, "fingerprint.txt");
        return File.Exists(path) && File.ReadAllText(path).Trim() == fingerprint;
    }

    /// <summary>
    /// The base model's run: a fresh byte-level tiny GPT-2 with positions for the longest prompt the task writes plus the
    /// sampling limit, trained by next-token prediction on the corpus (pretraining and the task's SFT at once).
    /// </summary>
    private static RunConfig BaseConfig(FrontierOptions o, ITokenizer tokenizer, string dir)
    {
        int longestPrompt = ReviewLexicon.Default.Subjects.Max(s => tokenizer.Encode(ReviewGenerator.PromptPrefix + s).Count) + 1;
        return new RunConfig
        {
            Model = new ModelSection { HiddenSize = o.Hidden, NumLayers = o.Layers, NumHeads = 4, MaxPositions = longestPrompt + o.MaxNewTokens },
            Tokenizer = RunTokenizer.Byte,
            Training = new TrainingOptions
            {
                MaxSteps = o.PretrainSteps, BatchSize = o.PretrainBatch, LearningRate = o.PretrainLearningRate,
                WarmupSteps = Math.Max(1, o.PretrainSteps / 20), Schedule = ScheduleKind.Cosine, WeightDecay = 0.01, Seed = o.Seed,
                Threads = o.Threads,
            },
            OutputDir = dir,
        };
    }

    private static void TrainBase(FrontierOptions o, ITokenizer tokenizer, ReviewGenerator generator, string dir, string fingerprint, Action<string> log)
    {
        var corpus = generator.Corpus(o.CorpusSize, o.Seed);
        AtomicFile.WriteAllLines(Path.Combine(dir, "corpus.txt"), corpus);
        int every = Math.Max(1, o.PretrainSteps / 5);
        using var model = RunBuilder.TrainLanguageModel(BaseConfig(o, tokenizer, dir), corpus, (step, loss) =>
        {
            if (step % every == 0 || step == o.PretrainSteps)
                log(FormattableString.Invariant($"base model step {step}/{o.PretrainSteps}: nll/token {loss:0.000}"));
        });
        HfCheckpoint.Save(model, Path.Combine(dir, "hf"));
        AtomicFile.WriteAllLines(Path.Combine(dir, "fingerprint.txt"), [fingerprint]);
    }

    /// <summary>One (objective, β) run: the base model as policy start and frozen reference, on the sampled pairs.</summary>
    internal static RunConfig RunConfigFor(FrontierOptions o, FrontierMethod m, double beta, string baseHf, string trainData, int maxLength, string runDir)
    {
        var values = new Dictionary<string, string>(m.Parameters ?? new Dictionary<string, string>());
        if (m.Knob.Length > 0) values[m.Knob] = beta.ToString("R", CultureInfo.InvariantCulture);
        return new RunConfig
        {
            Model = new ModelSection { Path = baseHf },
            Tokenizer = RunTokenizer.Byte,
            Data = new DataSection { Train = trainData, MaxLength = maxLength },
            Objectives = [new ObjectiveSpec(m.Id, 1.0, values, $"method '{m.Id}'")],
            Reference = ReferenceKind.Frozen,
            Training = new TrainingOptions
            {
                BatchSize = o.Batch, MaxSteps = o.Steps, LearningRate = o.LearningRate, WarmupSteps = Math.Max(1, o.Steps / 10),
                Schedule = ScheduleKind.Constant, LoggingSteps = o.EvalEvery, Seed = o.Seed, SaveSteps = 0, SaveTotalLimit = 1, Threads = o.Threads,
            },
            OutputDir = runDir,
        };
    }

    private static string Describe(FrontierPoint p) => FormattableString.Invariant(
        $"loss {p.Loss:0.000}, reward {p.Reward:0.000} ± {p.RewardSe:0.000}, KL {p.Kl:0.000} ± {p.KlSe:0.000}, implicit acc {p.ImplicitAccuracy:0.00}, length {p.MeanLength:0.0}");

    /// <summary>Checks a method's objective and parameters before anything is trained.</summary>
    private static IPreferenceObjective CreateObjective(FrontierMethod m, double beta)
    {
        try { return RunConfigFor(new FrontierOptions(), m, beta, "", "", 1, "").CreateObjective(); }
        catch (ConfigException e) { throw new ExperimentException(e.Message); }
    }

    private static List<PreferenceExample> SamplePairs(CausalLM model, ITokenizer tokenizer, BradleyTerryLabeler labeler, IReadOnlyList<string> prompts,
        FrontierOptions o, long seed, string path)
    {
        var first = PolicySamples.Draw(model, tokenizer, prompts, o.MaxNewTokens, seed);
        var second = PolicySamples.Draw(model, tokenizer, prompts, o.MaxNewTokens, seed + 1_000_003);
        var pairs = labeler.Label(prompts, first.Completions, second.Completions, (int)seed, Path.GetFileName(path)).ToList();
        PreferenceJsonlWriter.Write(path, pairs);
        return pairs;
    }

    private static IEnumerable<FrontierPoint> BestOfN(CausalLM baseModel, ITokenizer tokenizer, IRewardFunction reward, IReadOnlyList<string> prompts,
        FrontierOptions o, long seed, Stopwatch clock)
    {
        int maxN = o.BestOfN.Max();
        // maxN samples per held-out prompt; the first N of them give that prompt's best-of-N draw.
        var repeated = prompts.SelectMany(p => Enumerable.Repeat(p, maxN)).ToList();
        var samples = PolicySamples.Draw(baseModel, tokenizer, repeated, o.MaxNewTokens, seed);
        var scores = repeated.Select((p, i) => reward.Score(p, samples.Completions[i])).ToArray();
        int groups = prompts.Count;
        foreach (var n in o.BestOfN.Order())
        {
            var best = new double[groups];
            var length = 0.0;
            for (int g = 0; g < groups; g++)
            {
                int argmax = g * maxN;
                for (int k = 1; k < n; k++) if (scores[g * maxN + k] > scores[argmax]) argmax = g * maxN + k;
                best[g] = scores[argmax];
                length += samples.CompletionIds[argmax].Length;
            }
            var r = Estimate.Of(best);
            // KL of best-of-N to the sampling policy: log N - (N - 1) / N (Stiennon et al. 2020; exact without ties, an upper bound with them).
            double kl = Math.Log(n) - (n - 1.0) / n;
            yield return new FrontierPoint("best_of_n", double.NaN, n, 0, r.Mean, r.StandardError, kl, 0, double.NaN, length / groups, double.NaN, clock.Elapsed.TotalSeconds);
        }
    }

    private static List<FrontierPoint> TrainOne(FrontierOptions o, RunConfig config, FrontierMethod method, double beta, CausalLM baseModel,
        IRewardFunction reward, IReadOnlyList<string> evalPrompts, long evalSeed, IReadOnlyList<TokenizedPair> evalPairs,
        Stopwatch clock, Action<FrontierPoint> report)
    {
        var points = new List<FrontierPoint>();
        PreparedRun? built = null;
        var observer = new EvaluatingObserver(step =>
        {
            var policy = built!.Policy;
            var eval = PolicyEvaluation.Run(policy, baseModel, built.Tokenizer, evalPrompts, reward, o.SamplesPerPrompt, o.MaxNewTokens, evalSeed);
            // Accuracy does not depend on β (> 0): read at β = 1 for a knob that is not β.
            var acc = ImplicitRewardAccuracy.Compute(policy, baseModel, evalPairs, method.Knob == "beta" ? beta : 1.0);
            return (eval, acc.Accuracy);
        }, (step, loss, eval, accuracy) =>
        {
            var p = new FrontierPoint(method.Id, beta, 0, step, eval.Reward.Mean, eval.Reward.StandardError, eval.Kl.Mean, eval.Kl.StandardError,
                accuracy, eval.MeanLength, loss, clock.Elapsed.TotalSeconds, method.Knob);
            points.Add(p);
            report(p);
        });
        // Trains, then saves the policy to <run>/final, for `alignsharp eval --policy .../final --reference <out>/base/hf --byte-tokenizer`.
        using var folder = RunFolder.Claim(config, RunFolderMode.Overwrite, false, _ => { }); // this experiment's run, redone
        using var run = built = RunBuilder.Build(config, observer);
        run.TrainIn(folder);
        return points;
    }

    /// <summary>Evaluates the policy at each logging step of the trainer (the policy is in its post-step state there).</summary>
    private sealed class EvaluatingObserver(Func<int, (PolicyEvaluationResult Eval, double Accuracy)> evaluate,
        Action<int, double, PolicyEvaluationResult, double> record) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics)
        {
            using var noGrad = torch.no_grad();
            var (eval, accuracy) = evaluate(step);
            record(step, metrics.GetValueOrDefault("loss", double.NaN), eval, accuracy);
        }

        public void OnMessage(string message) { }
    }
}
