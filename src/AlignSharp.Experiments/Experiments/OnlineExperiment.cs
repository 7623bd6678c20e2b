using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Online;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>One evaluated policy of the online experiment: a method after some labels.</summary>
/// <param name="Method">Method id (<see cref="OnlineExperimentOptions.AllMethods"/>) or "reference" (the base).</param>
/// <param name="Iteration">Loop iteration whose policy was evaluated (0: the base model).</param>
/// <param name="Labels">Preference labels the method had used by then.</param>
/// <param name="Pairs">Pairs it had trained on (replayed pairs counted again).</param>
/// <param name="Steps">Optimizer steps it had made.</param>
/// <param name="Reward">Mean ground-truth reward of samples on held-out prompts.</param>
/// <param name="RewardSe">Its standard error.</param>
/// <param name="Kl">Sequence KL(π ‖ π_base) in nats from the same samples (to the base, whatever the loop's reference).</param>
/// <param name="KlSe">Its standard error.</param>
/// <param name="MeanLength">Mean completion length in tokens.</param>
/// <param name="Seconds">Wall time since the experiment started.</param>
public sealed record OnlinePoint(string Method, int Iteration, int Labels, int Pairs, int Steps, double Reward,
    double RewardSe, double Kl, double KlSe, double MeanLength, double Seconds);

/// <summary>Paths of the files one online experiment wrote.</summary>
public sealed record OnlineExperimentFiles(string Png, string KlPng, string Markdown, string Csv);

/// <summary>Everything the online experiment measured, where its files are, and its wall time.</summary>
public sealed record OnlineExperimentResult(IReadOnlyList<OnlinePoint> Points, OnlineExperimentFiles Files,
    double Seconds);

/// <summary>
/// Offline DPO vs online and iterative preference optimization at equal numbers of preference labels, on the review
/// task: one base model (the frontier experiment's); every method a run of the online loop (<see cref="OnlineLoop"/>)
/// whose judge compares ground-truth rewards; each iteration's policy evaluated on held-out prompts (ground-truth
/// reward, KL to the base model).
/// </summary>
/// <remarks>
/// The methods, all with DPO's β, one learning rate, batches of the same size and one pass over their pairs:
/// <list type="bullet">
/// <item><c>offline_dpo</c>: pairs sampled from the base model (a fixed distribution), reference fixed.</item>
/// <item><c>online_dpo</c> (OAIF): every optimizer step samples fresh pairs from the current policy.</item>
/// <item><c>iterative_dpo</c>: rounds of sampling from the current policy; the reference becomes the last policy.</item>
/// <item><c>dice</c>: offline DPO's policy, then rounds scored by its own implicit reward (no labels), base as
/// reference at first.</item>
/// <item><c>sppo</c>: rounds of n samples per prompt, every pair judged, win probabilities as sppo's targets.</item>
/// </list>
/// </remarks>
public static class OnlineExperiment
{
    private const string FingerprintFile = "experiment_fingerprint.txt";

    /// <summary>Runs the experiment into <paramref name="outputDir"/>; <paramref name="log"/> receives progress.</summary>
    public static OnlineExperimentResult Run(OnlineExperimentOptions o, string outputDir, Action<string> log)
    {
        o.Validate();
        if (o.Threads > 0) torch.set_num_threads(o.Threads);
        // One experiment per folder: its lock refuses a second live experiment here (each loop locks its own folder).
        using var folder = RunFolder.Lock(outputDir, log);
        var clock = Stopwatch.StartNew();
        void Log(string line) => log(FormattableString.Invariant($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

        var b = o.Base with { Seed = o.Seed, Threads = o.Threads };
        var tokenizer = RunTokenizer.Load(RunTokenizer.Byte);
        Log($"preset {o.Preset}: {o.Labels} labels per method in {o.Iterations} rounds; base model d={b.Hidden}, "
            + $"{b.Layers} layer(s), {b.PretrainSteps} steps on {b.CorpusSize} reviews");
        var (baseHf, baseFingerprint) = FrontierExperiment.EnsureBase(b, outputDir, tokenizer, Log);
        using var baseModel = FrontierExperiment.LoadBase(b, outputDir, tokenizer);
        using var evaluated = FrontierExperiment.LoadBase(b, outputDir, tokenizer); // each checkpoint loaded into it
        var reward = ReviewReward.Default;
        var evalPrompts = ReviewGenerator.Default.Prompts(o.EvalPrompts, o.Seed + 101);
        long evalSeed = o.Seed + 202;

        var baseEval = PolicyEvaluation.Run(baseModel, baseModel, tokenizer, evalPrompts, reward, o.SamplesPerPrompt,
            b.MaxNewTokens, evalSeed);
        var points = new List<OnlinePoint>
        {
            new("reference", 0, 0, 0, 0, baseEval.Reward.Mean, baseEval.Reward.StandardError, 0, 0,
                baseEval.MeanLength, clock.Elapsed.TotalSeconds),
        };
        Log(FormattableString.Invariant(
            $"reference (base) model: ground-truth reward {baseEval.Reward}, length {baseEval.MeanLength:0.0}"));

        string runs = Path.Combine(outputDir, "runs");
        foreach (var method in o.Methods)
        {
            var spec = Spec(o, method, baseHf, runs);
            string dir = spec.Config.Run.OutputDir;
            string fingerprint = baseFingerprint + "\n" + Fingerprint(spec);
            string stamp = Path.Combine(dir, FingerprintFile);
            if (Directory.Exists(dir) && (!File.Exists(stamp) || File.ReadAllText(stamp) != fingerprint))
                Directory.Delete(dir, true); // another experiment's run: start over
            AtomicFile.WriteAllText(stamp, fingerprint);
            Log($"{method}: {Describe(spec)}");
            var reports = new OnlineLoop(spec.Config, new Progress(line => Log($"{method} {line}")))
                .RunAsync().GetAwaiter().GetResult();
            int pairs = 0;
            foreach (var r in reports)
            {
                pairs += r.Pairs + r.ReplayedPairs;
                if (!spec.Evaluate(r.Iteration)) continue;
                HfCheckpoint.LoadWeights(evaluated, Path.Combine(dir, $"iteration-{r.Iteration:0000}", "policy"));
                var e = PolicyEvaluation.Run(evaluated, baseModel, tokenizer, evalPrompts, reward, o.SamplesPerPrompt,
                    b.MaxNewTokens, evalSeed);
                var point = new OnlinePoint(method, r.Iteration, spec.Labels(r.Iteration), pairs, r.GlobalStep,
                    e.Reward.Mean, e.Reward.StandardError, e.Kl.Mean, e.Kl.StandardError, e.MeanLength,
                    clock.Elapsed.TotalSeconds);
                points.Add(point);
                Log(FormattableString.Invariant($"{method} after {point.Labels} labels ({point.Pairs} pairs, ") +
                    FormattableString.Invariant($"{point.Steps} steps): reward {e.Reward}, KL {e.Kl}"));
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var files = OnlineExperimentReport.Write(outputDir, o, points, seconds);
        Log($"wrote {files.Png}, {files.KlPng}, {files.Markdown}, {files.Csv}");
        return new OnlineExperimentResult(points, files, seconds);
    }

    /// <summary>One method's loop config, how many labels it has used after an iteration, and which to evaluate.</summary>
    private sealed record MethodSpec(OnlineConfig Config, Func<int, int> Labels, Func<int, bool> Evaluate);

    /// <summary>The loop config of <paramref name="method"/>: every method from the same base and seed.</summary>
    private static MethodSpec Spec(OnlineExperimentOptions o, string method, string baseHf, string runs)
    {
        int perRound = o.LabelsPerIteration;
        var judge = new ScoreSection { Kind = ScoreKind.Judge, Judge = new JudgeSection { Kind = JudgeKind.Reward } };
        var sample = new SampleSection { N = 2, MaxNewTokens = o.Base.MaxNewTokens, BatchSize = 32 };
        var perIteration = new OnlineSection
        {
            Mode = OnlineMode.PerIteration, Iterations = o.Iterations, Task = OnlineTask.Review,
            PromptsPerIteration = perRound, Sample = sample, Score = judge,
            Pair = new PairSection { Strategy = PairStrategy.BestVsWorst },
            Reference = new ReferenceSection { Update = ReferenceUpdate.Previous },
        };
        string dpo = "dpo";
        double beta = o.Beta;
        string? referencePath = null, start = baseHf;
        Func<int, int> labels = it => it * perRound;
        Func<int, bool> evaluate = _ => true;
        OnlineSection online;
        switch (method)
        {
            case "offline_dpo":
                online = perIteration with
                {
                    Sample = sample with { From = SampleSource.Reference },
                    Reference = new ReferenceSection { Update = ReferenceUpdate.Fixed },
                };
                break;
            case "online_dpo":
                online = perIteration with
                {
                    Mode = OnlineMode.PerStep, Iterations = o.Labels / o.Batch, PromptsPerIteration = o.Batch,
                    Reference = new ReferenceSection { Update = ReferenceUpdate.Fixed },
                };
                labels = it => it * o.Batch;
                evaluate = it => it * o.Batch % perRound == 0;
                break;
            case "iterative_dpo":
                online = perIteration;
                break;
            case "sppo":
                int comparisons = o.SppoSamples * (o.SppoSamples - 1) / 2;
                online = perIteration with
                {
                    PromptsPerIteration = perRound / comparisons, Sample = sample with { N = o.SppoSamples },
                };
                (dpo, beta) = ("sppo", o.SppoBeta);
                break;
            case "dice":
                online = perIteration with
                {
                    Iterations = o.DiceIterations, Replay = o.DiceReplay,
                    Sample = sample with { N = o.DiceSamples },
                    Score = new ScoreSection
                    {
                        Kind = ScoreKind.Implicit, ImplicitBeta = o.Beta, LengthPenalty = o.DiceLengthPenalty,
                    },
                };
                start = Path.Combine(runs, "offline_dpo", "final");
                referencePath = baseHf;
                labels = _ => o.Labels;
                break;
            default:
                throw new ExperimentException($"unknown method '{method}'");
        }
        var values = new Dictionary<string, string> { ["beta"] = beta.ToString("R", CultureInfo.InvariantCulture) };
        var run = new RunConfig
        {
            Model = new ModelSection { Path = start },
            ReferencePath = referencePath,
            Tokenizer = RunTokenizer.Byte,
            Objectives = [new ObjectiveSpec(dpo, 1.0, values, $"method '{method}'")],
            Training = new TrainingOptions
            {
                BatchSize = o.Batch, LearningRate = o.LearningRate, Seed = o.Seed, Threads = o.Threads,
            },
            OutputDir = Path.Combine(runs, method),
        };
        return new MethodSpec(new OnlineConfig(run, online, $"experiment online, method {method}"), labels, evaluate);
    }

    private static string Fingerprint(MethodSpec spec)
    {
        var run = spec.Config.Run;
        var o = new JsonSerializerOptions { WriteIndented = false };
        return JsonSerializer.Serialize(spec.Config.Online, o) + "\n" + string.Join(" ",
            run.Model.Path, run.ReferencePath, run.Objectives[0].Name, string.Join(",", run.Objectives[0].Params),
            run.Training.BatchSize.ToString(CultureInfo.InvariantCulture),
            run.Training.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            run.Training.Seed.ToString(CultureInfo.InvariantCulture));
    }

    private static string Describe(MethodSpec spec)
    {
        var s = spec.Config.Online;
        var objective = spec.Config.Run.Objectives[0];
        string mode = s.Mode == OnlineMode.PerStep ? "per step" : "per iteration";
        return FormattableString.Invariant(
            $"{s.Iterations} iterations ({mode}) of {s.PromptsPerIteration} prompts x {s.Sample.N} samples from the ") +
            FormattableString.Invariant($"{s.Sample.From.ToString().ToLowerInvariant()}, score ") +
            FormattableString.Invariant($"{s.Score.Kind.ToString().ToLowerInvariant()}, {objective.Name} ") +
            FormattableString.Invariant($"beta {objective.Params["beta"]}, reference {s.Reference.Update}");
    }

    /// <summary>Forwards the loop's messages (one line per iteration) to the experiment's log.</summary>
    private sealed class Progress(Action<string> log) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) { }

        public void OnMessage(string message)
        {
            if (message.StartsWith("iteration ", StringComparison.Ordinal)) log(message);
        }
    }
}
